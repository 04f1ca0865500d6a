import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import type { IMiddlewareFunction } from 'graphql-middleware';
import { Counter, Gauge, Histogram } from 'prom-client';
import { requestScope } from '../db/statement-counter.ts';
import type { RawSql } from '../db/sql.ts';
import type { EventBus } from '../events/bus.ts';
import { deadLetterTopic } from '../events/envelope.ts';
import type { Logger } from '../logger/logger.ts';
import { createRegistry, traceExemplar, type MetricsRegistry } from '../metrics/registry.ts';

/**
 * A subgraph service's Prometheus series, every one labelled `service`:
 * GraphQL requests and their duration, root-field resolver duration, SQL
 * statements per request (how well DataLoader batches), the outbox's backlog
 * and its oldest row's age, each consumer group's lag per partition, and
 * what waits on the dead-letter topics. Services add their own (emails) to
 * `registry` through the runtime.
 *
 * Per request the cost is a few labelled updates; the outbox, lag and DLQ
 * figures are read from the database and the bus only when Prometheus
 * scrapes, each read bounded by a timeout so a broker that is down slows no
 * scrape beyond it.
 */
export interface SubgraphMetrics {
  readonly registry: MetricsRegistry;
  readonly plugin: ApolloServerPlugin;
  /** graphql-middleware: the duration of each root field and `_entities` call. */
  resolvers(schema: GraphQLSchema): Record<string, IMiddlewareFunction>;
  /** What the scrape reads from the service's database and bus. */
  watch(sources: { db: RawSql; bus: EventBus; groups: { groupId: string; topics: string[] }[] }): void;
}

/** Seconds; from a DataLoader-served entity fetch to a request at the gateway's timeout. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Statements per request: a batched query stays in the first buckets whatever the rows. */
const STATEMENT_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
/** A scrape's reads of the database and the bus give up after this; their series are left out of that scrape. */
const READ_TIMEOUT_MS = 2_000;

export function createSubgraphMetrics(service: string, logger: Logger): SubgraphMetrics {
  const registry = createRegistry({ service });
  const registers = [registry];
  const requests = new Counter({
    name: 'subgraph_graphql_requests_total',
    help: 'GraphQL requests answered, by operation type and outcome (ok, or the first error code).',
    labelNames: ['operation_type', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'subgraph_graphql_request_duration_seconds',
    help: 'Time from the start of GraphQL processing to the response, by operation type; exemplars carry the trace id.',
    labelNames: ['operation_type'] as const,
    buckets: DURATION_BUCKETS,
    enableExemplars: true,
    registers,
  });
  const resolverDuration = new Histogram({
    name: 'subgraph_resolver_duration_seconds',
    help: 'Duration of each root field and entity (_entities) resolution, by field.',
    labelNames: ['field'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const statements = new Histogram({
    name: 'subgraph_sql_statements_per_request',
    help: 'SQL statements sent while serving one GraphQL request.',
    buckets: STATEMENT_BUCKETS,
    registers,
  });

  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      const started = performance.now();
      // Read now: the request's server span is the active one while Apollo starts the request.
      const exemplar = traceExemplar();
      return {
        async willSendResponse({ operation, response }) {
          const type = operation?.operation ?? 'none';
          const errors =
            response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
          const code = errors?.[0]?.extensions?.code;
          requests.inc({
            operation_type: type,
            outcome: !errors?.length ? 'ok' : typeof code === 'string' && ERROR_CODE.test(code) ? code : 'OTHER',
          });
          duration.observe({
            labels: { operation_type: type },
            value: (performance.now() - started) / 1000,
            exemplarLabels: exemplar,
          });
          const scope = requestScope.getStore();
          if (scope) statements.observe(scope.count);
        },
      };
    },
  };

  const resolvers = (schema: GraphQLSchema) => {
    const timed: IMiddlewareFunction = async (resolve, parent, args, context, info: GraphQLResolveInfo) => {
      const end = resolverDuration.startTimer({ field: `${info.parentType.name}.${info.fieldName}` });
      try {
        return (await resolve(parent, args, context, info)) as unknown;
      } finally {
        end();
      }
    };
    const roots = [schema.getQueryType(), schema.getMutationType()].filter(
      (type) => type !== null && type !== undefined,
    );
    return Object.fromEntries(roots.map((type) => [type.name, timed]));
  };

  const bounded = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      logger.warn({ err: error, what }, 'metrics: a figure could not be read; left out of this scrape');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  const watch: SubgraphMetrics['watch'] = ({ db, bus, groups }) => {
    // Outside any request's scope: the scrape's own SQL is not a request's.
    const outbox = async () =>
      (
        await requestScope.exit(() =>
          bounded('outbox', () =>
            db.$queryRawUnsafe<{ backlog: number; age: number }[]>(
              `SELECT count(*)::int AS backlog,
                      COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age
                 FROM outbox_events WHERE published_at IS NULL`,
            ),
          ),
        )
      )?.[0];
    new Gauge({
      name: 'outbox_backlog_events',
      help: 'Events written to the outbox and not yet published.',
      registers,
      async collect() {
        const row = await outbox();
        this.reset();
        if (row) this.set(Number(row.backlog));
      },
    });
    new Gauge({
      name: 'outbox_oldest_event_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when none waits).',
      registers,
      async collect() {
        const row = await outbox();
        this.reset();
        if (row) this.set(Number(row.age));
      },
    });
    new Gauge({
      name: 'events_consumer_lag',
      help: "Events published and not yet consumed, per consumer group and partition (from the bus's offsets).",
      labelNames: ['group', 'topic', 'partition'] as const,
      registers,
      async collect() {
        const lags = await Promise.all(
          groups.map(async ({ groupId, topics }) => ({
            groupId,
            lags: (await bounded(`lag of ${groupId}`, () => bus.consumerLag(groupId, topics))) ?? [],
          })),
        );
        this.reset();
        for (const { groupId, lags: partitions } of lags)
          for (const { topic, partition, lag } of partitions)
            this.set({ group: groupId, topic, partition: String(partition) }, lag);
      },
    });
    const deadLetterTopics = [...new Set(groups.flatMap((g) => g.topics.map(deadLetterTopic)))];
    new Gauge({
      name: 'events_dead_letter_messages',
      help: 'Events parked on the dead-letter topic of each topic this service consumes (nothing drains them but an operator).',
      labelNames: ['topic'] as const,
      registers,
      async collect() {
        const sizes = deadLetterTopics.length
          ? await bounded('dead-letter topics', () => bus.topicSizes(deadLetterTopics))
          : {};
        this.reset();
        for (const [topic, size] of Object.entries(sizes ?? {})) this.set({ topic }, size);
      },
    });
  };

  return { registry, plugin, resolvers, watch };
}
