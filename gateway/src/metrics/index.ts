import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  boundedLabel,
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  metricsRoute,
  renderMetrics,
  TEXT_CONTENT_TYPE,
  traceExemplar,
} from '@storefront/platform/metrics';
import { sendError, listen, type Listening } from '@storefront/platform/server';
import type { GatewayContext } from '../context.ts';

export { metricsEnv } from './config.ts';
export { operationNamesOf } from './operation-names.ts';

/**
 * Prometheus metrics of the gateway (@storefront/platform/metrics), served at
 * METRICS_PATH. Per request the cost is one timestamp and two labelled
 * updates; everything else (subscriptions, cache statistics, process
 * metrics) is read only when Prometheus scrapes.
 *
 * Requests are labelled by operation name and by the calling app
 * (`apollographql-client-name` / `-version`); both are the caller's to
 * choose, so each keeps its own series only for trusted documents' operation
 * names and the first METRICS_MAX_OPERATION_NAMES names (METRICS_MAX_CLIENTS
 * apps) seen; the rest are counted as `other`.
 *
 * Other parts register what they count with `gauge()` / `counter()`, given a
 * function read at scrape time, so their hot paths keep plain numbers.
 */
export interface GatewayMetrics {
  readonly enabled: boolean;
  /** Install in ApolloServer: counts and times every GraphQL request. */
  readonly plugins: ApolloServerPlugin<GatewayContext>[];
  /** An answer given before GraphQL ran (401, 404, 413, bad JSON): counted with operation_type "none". */
  refused: (status: number, code: string) => void;
  /** One request to a subgraph; with a duration once the transport reports one. */
  subgraphFetch(subgraph: string, result?: SubgraphFetchResult): void;
  /** Traffic shaping (transport/): a fetch retried, with what its last attempt met (`timeout`, `http_503`, …). */
  subgraphRetry(subgraph: string, reason: string): void;
  /** A retry that was due and not made (`budget`: the retry budget was spent). */
  subgraphRetryRefused(subgraph: string, reason: string): void;
  /** An instance's circuit breaker moved to `to` (`open`, `half_open`, `closed`). */
  circuitTransition(subgraph: string, instance: string, to: string): void;
  /** A fetch answered SUBGRAPH_UNAVAILABLE at once: every breaker of the subgraph was open. */
  circuitRefused(subgraph: string): void;
  /** Each instance's breaker state, read at scrape time. */
  circuitStates(read: () => { subgraph: string; instance: string; state: string }[]): void;
  /** A value that goes up and down (sizes, open things), read at scrape time; a record gives one series per key of `label`. */
  gauge(name: string, help: string, read: () => number | Record<string, number>, label?: string): void;
  /** A running total (hits, misses, evictions) kept elsewhere, read at scrape time. */
  counter(name: string, help: string, read: () => number | Record<string, number>, label?: string): void;
  /** Serves the metrics when `req` asks for METRICS_PATH; true when it did. */
  route(req: IncomingMessage, res: ServerResponse): boolean;
  /** The Prometheus text exposition (version 0.0.4, without exemplars). */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface SubgraphFetchResult {
  durationMs?: number;
  /** 'ok', or what went wrong (an error code such as 'TIMEOUT'). */
  outcome?: string;
}

export interface MetricsOptions {
  METRICS: boolean;
  METRICS_PATH: string;
  METRICS_MAX_OPERATION_NAMES: number;
  METRICS_MAX_CLIENTS: number;
}

/** Seconds; from a cache hit (sub-millisecond) to a request at its timeout (10 s by default). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Outcome labels are error codes; anything that does not look like one is folded, to bound the series. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
const outcomeLabel = (code: unknown) => (typeof code === 'string' && ERROR_CODE.test(code) ? code : 'OTHER');
/** Subgraph fetch outcomes as the transport names them ('ok', 'timeout', …), bounded the same way. */
const fetchOutcome = (outcome = 'ok') => (/^[a-z][a-z0-9_]{0,47}$/i.test(outcome) ? outcome : 'other');

export function createGatewayMetrics(
  config: MetricsOptions,
  /** Names of the trusted documents' operations: each always has series of its own. */
  knownOperations: Iterable<string> = [],
): GatewayMetrics {
  if (!config.METRICS) return disabledMetrics;
  const registry = createRegistry();
  const registers = [registry];
  const nameLabel = boundedLabel(config.METRICS_MAX_OPERATION_NAMES, knownOperations);
  const clientApp = boundedLabel(config.METRICS_MAX_CLIENTS);

  const requests = new Counter({
    name: 'gateway_graphql_requests_total',
    help: 'GraphQL requests answered, by operation type and name, client app (name and version) and outcome (ok, or the first error code).',
    labelNames: ['operation_type', 'operation_name', 'client_name', 'client_version', 'outcome'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: 'gateway_graphql_request_duration_seconds',
    help: 'Time from the start of GraphQL processing (after authentication) to the response, by operation type and name; exemplars carry the trace id.',
    labelNames: ['operation_type', 'operation_name'] as const,
    buckets: DURATION_BUCKETS,
    enableExemplars: true,
    registers,
  });
  const fetches = new Counter({
    name: 'gateway_subgraph_fetches_total',
    help: 'Requests sent to each subgraph.',
    labelNames: ['subgraph'] as const,
    registers,
  });
  const fetchDuration = new Histogram({
    name: 'gateway_subgraph_fetch_duration_seconds',
    help: 'Duration of requests to each subgraph, by outcome.',
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });

  const retries = new Counter({
    name: 'gateway_subgraph_retries_total',
    help: 'Fetches to a subgraph tried again (queries only), by what the previous attempt met.',
    labelNames: ['subgraph', 'reason'] as const,
    registers,
  });
  const retriesRefused = new Counter({
    name: 'gateway_subgraph_retries_refused_total',
    help: 'Retries that were due and not made, by cause (budget: the retry budget was spent).',
    labelNames: ['subgraph', 'reason'] as const,
    registers,
  });
  const circuitTransitions = new Counter({
    name: 'gateway_subgraph_circuit_transitions_total',
    help: 'Circuit breaker state changes per subgraph instance, by the state entered.',
    labelNames: ['subgraph', 'instance', 'to'] as const,
    registers,
  });
  const circuitRefusals = new Counter({
    name: 'gateway_subgraph_circuit_refused_total',
    help: 'Fetches answered SUBGRAPH_UNAVAILABLE without being sent, every instance’s breaker being open.',
    labelNames: ['subgraph'] as const,
    registers,
  });
  let readCircuitStates: () => { subgraph: string; instance: string; state: string }[] = () => [];
  new Gauge({
    name: 'gateway_subgraph_circuit_state',
    help: 'Circuit breaker state per subgraph instance: 1 on the series of its current state (closed, open, half_open).',
    labelNames: ['subgraph', 'instance', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const { subgraph, instance, state } of readCircuitStates())
        for (const each of CIRCUIT_STATES) this.set({ subgraph, instance, state: each }, each === state ? 1 : 0);
    },
  });

  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      // The request's span (tracing/), when it is sampled: the exemplar of its duration.
      const exemplar = contextValue.trace ? traceExemplar(contextValue.trace) : {};
      return {
        async willSendResponse({ operation, operationName, request, contextValue, response }) {
          const type = operation?.operation ?? 'none';
          const errors =
            response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          // The resolved operation's name, else the one the request asked for (a document that failed validation).
          // No name (anonymous, or unknown): the empty label, which Prometheus treats as absent.
          const asked = operationName ?? request.operationName;
          const name = asked ? nameLabel(asked) : '';
          const client = contextValue.client;
          const app = client ? clientApp(`${client.name}@${client.version ?? ''}`) : undefined;
          requests.inc({
            operation_type: type,
            operation_name: name,
            client_name: app === 'other' ? 'other' : (client?.name ?? ''),
            client_version: app === 'other' ? 'other' : (client?.version ?? ''),
            outcome: errors?.length ? outcomeLabel(errors[0]!.extensions?.code) : 'ok',
          });
          requestDuration.observe({
            labels: { operation_type: type, operation_name: name },
            value: (performance.now() - started) / 1000,
            exemplarLabels: exemplar,
          });
        },
      };
    },
  };

  const fromRead = (
    read: () => number | Record<string, number>,
    label: string | undefined,
    set: (labels: Record<string, string>, value: number) => void,
  ) => {
    const value = read();
    if (typeof value === 'number') return set({}, value);
    for (const [key, count] of Object.entries(value)) set({ [label ?? 'name']: key }, count);
  };

  const metrics: GatewayMetrics = {
    enabled: true,
    plugins: [plugin],
    contentType: TEXT_CONTENT_TYPE,
    refused: (_status, code) =>
      requests.inc({
        operation_type: 'none',
        operation_name: '',
        client_name: '',
        client_version: '',
        outcome: outcomeLabel(code),
      }),
    subgraphFetch: (subgraph, result) => {
      fetches.inc({ subgraph });
      if (result?.durationMs !== undefined)
        fetchDuration.observe({ subgraph, outcome: fetchOutcome(result.outcome) }, result.durationMs / 1000);
    },
    subgraphRetry: (subgraph, reason) => retries.inc({ subgraph, reason: fetchOutcome(reason) }),
    subgraphRetryRefused: (subgraph, reason) => retriesRefused.inc({ subgraph, reason: fetchOutcome(reason) }),
    circuitTransition: (subgraph, instance, to) => circuitTransitions.inc({ subgraph, instance, to }),
    circuitRefused: (subgraph) => circuitRefusals.inc({ subgraph }),
    circuitStates: (read) => {
      readCircuitStates = read;
    },
    gauge: (name, help, read, label) => {
      new Gauge({
        name,
        help,
        labelNames: label ? [label] : [],
        registers,
        collect() {
          this.reset();
          fromRead(read, label, (labels, value) => this.set(labels, value));
        },
      });
    },
    counter: (name, help, read, label) => {
      new Counter({
        name,
        help,
        labelNames: label ? [label] : [],
        registers,
        collect() {
          // The total lives elsewhere: restate it (a counter has no set()).
          this.reset();
          fromRead(read, label, (labels, value) => this.inc(labels, Math.max(0, value)));
        },
      });
    },
    render: async () => (await renderMetrics([registry], undefined)).body,
    route: metricsRoute(config.METRICS_PATH, [registry]),
  };
  return metrics;
}

/** Serves only the metrics (METRICS_PORT): a port the scraper reaches and the internet does not. */
export async function listenForMetrics(
  metrics: GatewayMetrics,
  options: { port: number; host: string; path: string },
): Promise<Listening> {
  return listen(
    (req, res) => {
      if (!metrics.route(req, res)) sendError(res, 404, 'NOT_FOUND', `No route for ${req.url}`);
    },
    { port: options.port, host: options.host, path: options.path },
  );
}

const CIRCUIT_STATES = ['closed', 'open', 'half_open'];

const noop = () => {};
const disabledMetrics: GatewayMetrics = {
  enabled: false,
  plugins: [],
  contentType: 'text/plain',
  refused: noop,
  subgraphFetch: noop,
  subgraphRetry: noop,
  subgraphRetryRefused: noop,
  circuitTransition: noop,
  circuitRefused: noop,
  circuitStates: noop,
  gauge: noop,
  counter: noop,
  route: () => false,
  render: async () => '',
};
