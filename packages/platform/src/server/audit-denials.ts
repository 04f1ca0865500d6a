import type { ApolloServerPlugin } from '@apollo/server';
import { audit } from '../audit.ts';
import type { BaseContext } from './subgraph.ts';

/**
 * Audits refusals by the field rules (graphql-shield): one `access_denied`
 * record per request that had any, with who asked and which fields were
 * refused — the trail of someone probing for other people's orders or emails.
 */
const DENIED = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);

export function auditDenialsPlugin(service: string): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          const denied = errors.filter((e) => DENIED.has(String(e.extensions?.code)));
          if (denied.length === 0) return;
          audit(contextValue.logger, 'access_denied', {
            service,
            userId: contextValue.identity?.userId ?? null,
            role: contextValue.identity?.role ?? null,
            operationName: operationName ?? null,
            fields: [...new Set(denied.map((e) => (e.path ?? []).filter((p) => typeof p === 'string').join('.')))].slice(0, 10),
            count: denied.length,
          });
        },
      };
    },
  };
}
