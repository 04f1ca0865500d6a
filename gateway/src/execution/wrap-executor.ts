import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';

/**
 * The one way the gateway adds behaviour at execution — the last step of
 * Apollo Server's pipeline, after parsing, validation, limits, rate limits
 * and a response-cache hit: subscriptions leave for the socket server,
 * warm-up runs stop after planning, identical queries share one execution.
 * `wrap` receives ApolloGateway's executor (after every schema load) and
 * returns the one Apollo Server should call instead.
 */
export function wrapExecutor(
  gateway: GatewayInterface,
  wrap: (execute: GatewayExecutor) => GatewayExecutor,
): GatewayInterface {
  return {
    load: async (options) => {
      const loaded = await gateway.load(options);
      return loaded.executor ? { ...loaded, executor: wrap(loaded.executor) } : loaded;
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}
