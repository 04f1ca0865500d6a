import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.ts';

/**
 * Every GraphQL error the client gets carries `extensions.requestId`, the
 * id of the answer's `x-request-id` and of the log lines about it, so a
 * support ticket with an error in it leads straight to the logs and trace.
 */
export const requestIdOnErrors: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        const { requestId } = contextValue;
        if (!requestId || response.body.kind !== 'single') return;
        const { singleResult } = response.body;
        if (!singleResult.errors?.length) return;
        // New objects: an answer shared by identical requests (operation dedup) must not get another's id.
        response.body = {
          kind: 'single',
          singleResult: {
            ...singleResult,
            errors: singleResult.errors.map((error) => ({ ...error, extensions: { ...error.extensions, requestId } })),
          },
        };
      },
    };
  },
};
