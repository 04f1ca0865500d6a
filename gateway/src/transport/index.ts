import type { Logger } from '@storefront/platform/logger';
import type { TransportConfig } from './config.ts';
import { SubgraphDataSource, type HeaderPropagation } from './data-source.ts';
import { FetchDedup } from './fetch-dedup.ts';
import { parseInstances, urlKey } from './instances.ts';
import type { Exchange } from './received-response.ts';
import { SubgraphClient, type SubgraphFetchEvent } from './subgraph-client.ts';

export { subgraphTransportEnv, type TransportConfig } from './config.ts';
export { SUBGRAPH_ERROR_CODES } from './errors.ts';
export { parseInstances, urlKey, validateSubgraphUrls } from './instances.ts';
export type { SubgraphFetchEvent } from './subgraph-client.ts';

/**
 * How the gateway reaches its subgraphs: per subgraph, the
 * instances listed in SUBGRAPH_URL_<NAME> (or the supergraph's routing URL),
 * each with a keep-alive undici pool, balanced round-robin or by weight,
 * health-checked when there are several; identical query fetches in flight
 * shared; every request signed. `dataSource` is what `buildService` returns;
 * subscriptions pick their instance here too (`pickInstance`); `close` ends
 * the pools and the health checks.
 */
export interface SubgraphTransport {
  dataSource(name: string, routingUrl: string): SubgraphDataSource;
  /** Where the next upstream subscription to `name` goes (see SubgraphClient.pickInstance); undefined before its data source exists. */
  pickInstance(name: string): string | undefined;
  /** A subscription socket could not reach (or lost) `instance` of `name`: no traffic to it until a health check passes. */
  reportUnreachable(name: string, instance: string, detail: string): boolean;
  close(): Promise<void>;
}

export function createSubgraphTransport(options: {
  config: TransportConfig;
  logger: Logger;
  /** Called when each request to an instance ends (request counts, metrics). */
  onFetch?: (event: SubgraphFetchEvent) => void;
  /** Headers passed to the subgraphs and back (headers/). */
  headerRules?: HeaderPropagation;
}): SubgraphTransport {
  const { config } = options;
  const clients = new Map<string, SubgraphClient>();
  return {
    dataSource: (name, routingUrl) => {
      let client = clients.get(name);
      if (!client) {
        const instances = parseInstances(urlKey(name), config.subgraphUrls[name] ?? routingUrl);
        client = new SubgraphClient(name, instances, {
          timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
          connectTimeoutMs: config.SUBGRAPH_CONNECT_TIMEOUT_MS,
          maxConnections: config.SUBGRAPH_MAX_CONNECTIONS,
          healthIntervalMs: config.SUBGRAPH_HEALTH_INTERVAL_MS,
          logger: options.logger,
          onFetch: options.onFetch,
        });
        clients.set(name, client);
      }
      return new SubgraphDataSource(routingUrl, {
        name,
        client,
        secret: config.subgraphSecrets[name] ?? config.SUBGRAPH_SECRET,
        timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
        fetchDedup: config.SUBGRAPH_DEDUP ? new FetchDedup<Exchange>() : undefined,
        headerRules: options.headerRules,
      });
    },
    pickInstance: (name) => clients.get(name)?.pickInstance(),
    reportUnreachable: (name, instance, detail) => clients.get(name)?.reportUnreachable(instance, detail) ?? false,
    close: async () => {
      await Promise.all([...clients.values()].map((client) => client.close()));
      clients.clear();
    },
  };
}
