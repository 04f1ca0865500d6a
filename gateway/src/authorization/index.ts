/**
 * Authorization at the gateway: the federation spec's `@authenticated` and
 * `@requiresScopes`, read from the supergraph (requirements.ts), checked per
 * operation and caller (analysis.ts, scopes.ts) and enforced at execution by
 * filtering refused fields (enforce.ts). Each service still applies its own
 * deny-by-default field rules behind it.
 */
export { directiveAuthorization, type DirectiveAuthorization } from './enforce.ts';
export { readRequirements, type Requirement, type Requirements } from './requirements.ts';
export { ROLE_SCOPES } from './scopes.ts';
