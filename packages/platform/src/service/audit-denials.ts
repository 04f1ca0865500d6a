import type { ApolloServerPlugin } from '@apollo/server';
import { audit } from '../logger/audit.ts';
import type { BaseContext } from './context.ts';

/**
 * Audits refusals (FORBIDDEN, from the field rules or a use case): one
 * `access_denied` record per request that had any, with who asked and which
 * fields were refused — the trail of someone probing for other people's
 * orders or emails. UNAUTHENTICATED is not one: it is an anonymous caller
 * meeting a sign-in wall, or a wrong password (audited as login_failed).
 */
export function auditDenialsPlugin(service: string): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          const denied = errors.filter((e) => e.extensions?.code === 'FORBIDDEN');
          if (denied.length === 0) return;
          audit(contextValue.logger, 'access_denied', {
            service,
            userId: contextValue.identity?.userId ?? null,
            role: contextValue.identity?.role ?? null,
            operationName: operationName ?? null,
            fields: [
              ...new Set(denied.map((e) => (e.path ?? []).filter((p) => typeof p === 'string').join('.'))),
            ].slice(0, 10),
            count: denied.length,
          });
        },
      };
    },
  };
}
