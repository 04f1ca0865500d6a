import type { Logger } from '@storefront/platform/logger';
import { watchFile, type Watcher } from '../reload/index.ts';
import type { CircuitState } from './circuit-breaker.ts';
import type { TransportConfig } from './config.ts';
import { SubgraphDataSource, type EntityFetchCache, type HeaderPropagation } from './data-source.ts';
import { FetchDedup } from './fetch-dedup.ts';
import { parseInstances, urlKey, type SubgraphInstance } from './instances.ts';
import type { Exchange } from './received-response.ts';
import { SubgraphClient, type ShapingEvents, type SubgraphFetchEvent } from './subgraph-client.ts';
import {
  parseTrafficShaping,
  type SubgraphShaping,
  type TrafficShaping,
  type TrafficShapingFile,
} from './traffic-config.ts';

export { refuseMovedSettings, subgraphTransportEnv, type TransportConfig } from './config.ts';
export type { CircuitState } from './circuit-breaker.ts';
export { aroundFetch } from './around-fetch.ts';
export { carryTraceparent, type EntityFetchCache } from './data-source.ts';
export { SUBGRAPH_ERROR_CODES } from './errors.ts';
export { parseInstances, urlKey, validateSubgraphUrls } from './instances.ts';
export { ReceivedHeaders } from './received-response.ts';
export type { ShapingEvents, SubgraphFetchEvent } from './subgraph-client.ts';
export {
  loadTrafficShaping,
  parseTrafficShaping,
  readTrafficShapingFile,
  SHAPING_DEFAULTS,
  type SubgraphShaping,
  type TrafficShaping,
  type TrafficShapingFile,
} from './traffic-config.ts';

/**
 * How the gateway reaches its subgraphs: per subgraph, its instances — the
 * traffic-shaping file's `subgraphs.<name>.instances`, else
 * SUBGRAPH_URL_<NAME>, else the supergraph's routing URL — each with a
 * keep-alive undici pool and a circuit breaker, balanced round-robin or by
 * weight, health-checked (a lone instance only for /readyz); queries retried within a
 * budget; identical query fetches in flight shared; every request signed.
 * Timeouts, retries, breakers and pool sizes come from traffic.yaml
 * (traffic-config.ts). `dataSource` is what `buildService` returns;
 * subscriptions pick their instance here too (`pickInstance`); `close` ends
 * the pools and the health checks.
 *
 * The traffic-shaping file is watched: a changed file that passes every
 * check replaces the client of each subgraph whose settings or instances
 * changed (the others keep theirs, breakers and all). Fetches already sent
 * finish on the old client, new ones go to the new; upstream subscriptions
 * already open stay where they are. A file that fails a check is refused
 * with the key named, and the running settings stay.
 */
export type TrafficReloadOutcome = 'applied' | 'refused' | 'unreadable';

export interface SubgraphTransport {
  dataSource(name: string, routingUrl: string): SubgraphDataSource;
  /** Where the next upstream subscription to `name` goes (see SubgraphClient.pickInstance); undefined before its data source exists. */
  pickInstance(name: string): string | undefined;
  /** A subscription socket could not reach (or lost) `instance` of `name`: no traffic to it until a health check passes. */
  reportUnreachable(name: string, instance: string, detail: string): boolean;
  /** Per subgraph: its instances and how many are healthy (the gateway's /readyz). */
  health: () => Record<string, { instances: number; healthyInstances: number }>;
  /** The circuit breaker state of every instance (metrics). */
  circuitStates: () => { subgraph: string; instance: string; state: CircuitState }[];
  /** Applies new settings (a checked traffic-shaping file) to every subgraph whose settings or instances changed. */
  reconfigure(shaping: TrafficShaping): void;
  close(): Promise<void>;
}

export function createSubgraphTransport(
  options: {
    config: TransportConfig;
    /** Per subgraph (loadTrafficShaping); a subgraph it does not name gets its `all` section. */
    shaping: TrafficShaping;
    /**
     * The file `shaping` was read from, to watch (every `intervalMs`; 0: not watched); a new version is
     * checked against the supergraph's subgraphs of the moment (`subgraphs`).
     */
    watch?: { file: TrafficShapingFile; intervalMs: number; subgraphs: () => readonly string[] };
    /** Each reload of the traffic-shaping file, by outcome (metrics). */
    onReload?: (outcome: TrafficReloadOutcome) => void;
    logger: Logger;
    /** Called when each request to an instance ends (request counts, metrics). */
    onFetch?: (event: SubgraphFetchEvent) => void;
    /** Headers passed to the subgraphs and back (headers/). */
    headerRules?: HeaderPropagation;
    /** Answers entity fetches of public entities it holds (caching/entity-cache/); undefined: off. */
    entityCache?: EntityFetchCache | undefined;
  } & ShapingEvents,
): SubgraphTransport {
  const { config, watch, onReload, ...events } = options;
  const logger = options.logger.child({ component: 'subgraph-transport' });
  let shaping = options.shaping;
  /** Each subgraph's client, and the settings it was built with (to tell whether a reload changes it). */
  const clients = new Map<string, { client: SubgraphClient; built: string }>();
  /** Clients replaced by a reload, finishing their fetches; closed at once on stop. */
  const retired = new Set<SubgraphClient>();
  /** The routing URL ApolloGateway gave each subgraph (the supergraph's, or the first of SUBGRAPH_URL_<NAME>). */
  const routingUrls = new Map<string, string>();

  const settingsOf = (name: string): { shaping: SubgraphShaping; instances: SubgraphInstance[] } => {
    const own = shaping.get(name) ?? shaping.all;
    const instances =
      own.instances ?? parseInstances(urlKey(name), config.subgraphUrls[name] ?? routingUrls.get(name)!);
    return { shaping: own, instances };
  };
  /** The subgraph's client, built anew when its settings changed since the last one was built. */
  const refresh = (name: string): SubgraphClient => {
    const settings = settingsOf(name);
    const built = JSON.stringify(settings);
    const existing = clients.get(name);
    if (existing?.built === built) return existing.client;
    const client = new SubgraphClient(name, settings.instances, { ...events, shaping: settings.shaping });
    clients.set(name, { client, built });
    if (existing) {
      retired.add(existing.client);
      existing.client.retire(() => retired.delete(existing.client));
      logger.info({ subgraph: name, instances: settings.instances }, 'subgraph transport reconfigured');
    }
    return client;
  };
  const clientOf = (name: string) => clients.get(name)?.client ?? refresh(name);
  const reconfigure = (next: TrafficShaping) => {
    shaping = next;
    for (const name of clients.keys()) refresh(name);
  };

  let watcher: Watcher | undefined;
  if (watch && watch.intervalMs > 0) {
    const { path } = watch.file;
    watcher = watchFile(path, {
      intervalMs: watch.intervalMs,
      initial: watch.file.text,
      onChange: (text) => {
        let next: TrafficShaping;
        try {
          next = parseTrafficShaping(text, path, watch.subgraphs());
        } catch (error) {
          onReload?.('refused');
          logger.error({ reason: (error as Error).message }, 'traffic-shaping file refused; the running settings stay');
          return;
        }
        reconfigure(next);
        onReload?.('applied');
        logger.info({ path }, 'traffic-shaping file applied');
      },
      onError: (error) => {
        onReload?.('unreadable');
        logger.warn({ reason: error.message }, 'cannot read the traffic-shaping file; the running settings stay');
      },
    });
  }

  return {
    dataSource: (name, routingUrl) => {
      // ApolloGateway builds a data source again when a reloaded supergraph moves the subgraph's URL.
      if (routingUrls.get(name) !== routingUrl) {
        routingUrls.set(name, routingUrl);
        if (clients.has(name)) refresh(name);
      }
      clientOf(name);
      return new SubgraphDataSource(routingUrl, {
        name,
        client: () => clientOf(name),
        secret: config.subgraphSecrets[name] ?? config.SUBGRAPH_SECRET,
        fetchDedup: config.SUBGRAPH_DEDUP ? new FetchDedup<Exchange>() : undefined,
        headerRules: options.headerRules,
        entityCache: options.entityCache,
      });
    },
    pickInstance: (name) => clients.get(name)?.client.pickInstance(),
    reportUnreachable: (name, instance, detail) =>
      clients.get(name)?.client.reportUnreachable(instance, detail) ?? false,
    health: () => Object.fromEntries([...clients].map(([name, { client }]) => [name, client.health()])),
    circuitStates: () =>
      [...clients.values()].flatMap(({ client }) =>
        client.circuitStates().map((entry) => ({ subgraph: client.subgraph, ...entry })),
      ),
    reconfigure,
    close: async () => {
      watcher?.stop();
      await Promise.all([...[...clients.values()].map(({ client }) => client), ...retired].map((c) => c.close()));
      clients.clear();
      retired.clear();
    },
  };
}
