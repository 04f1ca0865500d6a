import type { Logger } from '@storefront/platform/logger';
import type { CircuitState } from './circuit-breaker.ts';
import type { TransportConfig } from './config.ts';
import { SubgraphDataSource, type HeaderPropagation } from './data-source.ts';
import { FetchDedup } from './fetch-dedup.ts';
import { parseInstances, urlKey } from './instances.ts';
import type { Exchange } from './received-response.ts';
import { SubgraphClient, type ShapingEvents, type SubgraphFetchEvent } from './subgraph-client.ts';
import { SHAPING_DEFAULTS, type TrafficShaping } from './traffic-config.ts';

export { refuseMovedSettings, subgraphTransportEnv, type TransportConfig } from './config.ts';
export type { CircuitState } from './circuit-breaker.ts';
export { SUBGRAPH_ERROR_CODES } from './errors.ts';
export { parseInstances, urlKey, validateSubgraphUrls } from './instances.ts';
export type { ShapingEvents, SubgraphFetchEvent } from './subgraph-client.ts';
export { loadTrafficShaping, SHAPING_DEFAULTS, type SubgraphShaping, type TrafficShaping } from './traffic-config.ts';

/**
 * How the gateway reaches its subgraphs: per subgraph, the
 * instances listed in SUBGRAPH_URL_<NAME> (or the supergraph's routing URL),
 * each with a keep-alive undici pool and a circuit breaker, balanced
 * round-robin or by weight, health-checked when there are several; queries
 * retried within a budget; identical query fetches in flight shared; every
 * request signed. Timeouts, retries, breakers and pool sizes come from
 * traffic.yaml (traffic-config.ts). `dataSource` is what `buildService`
 * returns; subscriptions pick their instance here too (`pickInstance`);
 * `close` ends the pools and the health checks.
 */
export interface SubgraphTransport {
  dataSource(name: string, routingUrl: string): SubgraphDataSource;
  /** Where the next upstream subscription to `name` goes (see SubgraphClient.pickInstance); undefined before its data source exists. */
  pickInstance(name: string): string | undefined;
  /** A subscription socket could not reach (or lost) `instance` of `name`: no traffic to it until a health check passes. */
  reportUnreachable(name: string, instance: string, detail: string): boolean;
  /** The circuit breaker state of every instance (metrics). */
  circuitStates: () => { subgraph: string; instance: string; state: CircuitState }[];
  close(): Promise<void>;
}

export function createSubgraphTransport(
  options: {
    config: TransportConfig;
    /** Per subgraph (loadTrafficShaping); a subgraph it does not name gets the defaults. */
    shaping: TrafficShaping;
    logger: Logger;
    /** Called when each request to an instance ends (request counts, metrics). */
    onFetch?: (event: SubgraphFetchEvent) => void;
    /** Headers passed to the subgraphs and back (headers/). */
    headerRules?: HeaderPropagation;
  } & ShapingEvents,
): SubgraphTransport {
  const { config, shaping, ...events } = options;
  const clients = new Map<string, SubgraphClient>();
  return {
    dataSource: (name, routingUrl) => {
      let client = clients.get(name);
      if (!client) {
        const instances = parseInstances(urlKey(name), config.subgraphUrls[name] ?? routingUrl);
        client = new SubgraphClient(name, instances, { ...events, shaping: shaping.get(name) ?? SHAPING_DEFAULTS });
        clients.set(name, client);
      }
      return new SubgraphDataSource(routingUrl, {
        name,
        client,
        secret: config.subgraphSecrets[name] ?? config.SUBGRAPH_SECRET,
        fetchDedup: config.SUBGRAPH_DEDUP ? new FetchDedup<Exchange>() : undefined,
        headerRules: options.headerRules,
      });
    },
    pickInstance: (name) => clients.get(name)?.pickInstance(),
    reportUnreachable: (name, instance, detail) => clients.get(name)?.reportUnreachable(instance, detail) ?? false,
    circuitStates: () =>
      [...clients.values()].flatMap((client) =>
        client.circuitStates().map((entry) => ({ subgraph: client.subgraph, ...entry })),
      ),
    close: async () => {
      await Promise.all([...clients.values()].map((client) => client.close()));
      clients.clear();
    },
  };
}
