import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { IRules } from 'graphql-shield';
import { openDatabase, type Database } from '../db/database.ts';
import type { RawSql, TransactionalSql } from '../db/sql.ts';
import type { ConsumeOptions, EventBus } from '../events/bus.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { LiveFeed, type LiveFeedOptions } from '../events/live-feed.ts';
import { KafkaEventBus } from '../events/kafka-bus.ts';
import { MemoryEventBus } from '../events/memory-bus.ts';
import { enqueueEvents, OutboxRelay, type OutboxEntry } from '../events/outbox.ts';
import { markProcessed } from '../events/idempotent.ts';
import { requestScope } from '../db/statement-counter.ts';
import { createLogger, type Logger } from '../logger/logger.ts';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type Listening } from '../server/listen.ts';
import { assertProductionReady, assertSharedBus, type ServiceConfig } from './service-config.ts';
import { startConsumersInBackground, type BackgroundConsumers } from './consumers.ts';
import type { BaseContext } from './context.ts';
import { createSubgraphServer } from './subgraph.ts';
import { assessReadiness } from './readiness.ts';
import { startTracing } from '../telemetry/tracing.ts';
import { traceConsumer } from '../telemetry/events.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';
import { createSubgraphMetrics } from './metrics.ts';

/**
 * The one way a subgraph service is built and started, shared by the four
 * services, their entry points, the embedded launcher and the tests.
 *
 * A service describes itself (schema, migrations, Prisma client, resolvers,
 * rules, consumers); this module owns the order of things: database and
 * migrations → event bus → outbox relay → consumers → HTTP, and the reverse
 * on stop.
 */
export interface ServiceDefinition<Db extends TransactionalSql<Tx>, Tx extends RawSql, TContext extends BaseContext> {
  name: string;
  config: ServiceConfig;
  port: number;
  typeDefs: DocumentNode;
  migrationsDir: string;
  createClient(database: Database): Db;
  build(runtime: ServiceRuntime<Db, Tx>): ServiceParts<TContext> | Promise<ServiceParts<TContext>>;
}

export interface ServiceParts<TContext extends BaseContext> {
  resolvers: object;
  permissions: IRules;
  createContext: (base: BaseContext) => TContext;
  /**
   * Event consumers. Each is its own consumer group, `<service>` or
   * `<service>.<name>`: Kafka assigns a group's partitions without regard to
   * which topics each member asked for, so two members of one group reading
   * different topics would silently leave partitions unread.
   */
  consumers?: (Omit<ConsumeOptions, 'groupId'> & { name?: string })[];
  /** Extra HTTP routes (e.g. JWKS); return true when handled. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Called on stop, after consumers and before the database closes. */
  stop?: () => Promise<void>;
  /** Creates demo/bootstrap data if missing (`npm run seed`, the embedded default). Idempotent. */
  seed?: () => Promise<void>;
}

export interface ServiceRuntime<Db extends TransactionalSql<Tx>, Tx extends RawSql> {
  name: string;
  db: Db;
  bus: EventBus;
  logger: Logger;
  /**
   * Runs `work` in one database transaction; events passed to `emit` are
   * written to the outbox in that transaction and published after commit.
   * This is the only way services publish events.
   */
  transact<R>(work: (tx: Tx, emit: Emit) => Promise<R>): Promise<R>;
  /**
   * For consumers: runs `work` for an event at most once for this service,
   * however often the bus redelivers it. The event is marked processed in the
   * same transaction as the work and the events it emits. Returns false for a
   * duplicate.
   */
  processOnce(event: EventEnvelope, work: (tx: Tx, emit: Emit) => Promise<void>): Promise<boolean>;
  /**
   * The feed of `topics` that this instance's subscriptions push from (see
   * events/live-feed.ts). Call it once, in `build()`; the service starts it
   * before serving and stops it on stop.
   */
  liveFeed(topics: string[], options?: Pick<LiveFeedOptions, 'indexBy' | 'maxBuffered'>): LiveFeed;
  /** The service's Prometheus registry (served at /metrics): a service registers its own series here (`registers: [metrics]`). */
  metrics: MetricsRegistry;
}

export type Emit = (topic: string, event: EventEnvelope) => Promise<void>;

export interface RunningService<Db = unknown> {
  name: string;
  url: string;
  port: number;
  schema: GraphQLSchema;
  db: Db;
  bus: EventBus;
  /** The database port it runs on: another instance of the service on the embedded database must share it (StartDependencies.database). */
  database: Database;
  relay: OutboxRelay;
  /** SQL statements this service has sent while serving GraphQL requests (batching tests, metrics). */
  statementCount(): number;
  /** Subscription operations currently open on this instance (0 without a Subscription type). */
  activeSubscriptions(): number;
  /** The instance's live feed, when the service asked for one. */
  liveFeed: LiveFeed | undefined;
  seed(): Promise<void>;
  stop: () => Promise<void>;
  /** Settles once every event consumer has joined its group (they join after the port opens; see service/consumers.ts). */
  consumersRunning: Promise<void>;
}

export interface StartDependencies {
  /** A bus shared with other services in this process (the embedded default). */
  bus?: EventBus;
  logger?: Logger;
  /**
   * A database opened by the caller and shared with another instance of the
   * same service (tests of several instances on the embedded database, which
   * cannot be opened twice: see db/data-dir-lock.ts). The caller closes it.
   */
  database?: Database;
}

export async function startService<Db extends TransactionalSql<Tx>, Tx extends RawSql, TContext extends BaseContext>(
  definition: ServiceDefinition<Db, Tx, TContext>,
  dependencies: StartDependencies = {},
): Promise<RunningService<Db>> {
  const { config, name } = definition;
  assertProductionReady(config);
  // Services in separate processes on one database meet only on Kafka; an in-process bus of their own would
  // leave every event inside the process that wrote it (orders would stay PENDING for ever).
  if (!dependencies.bus) assertSharedBus(config);
  const logger = (dependencies.logger ?? createLogger({ name: 'storefront', level: config.LOG_LEVEL })).child({
    service: name,
  });

  // Off (and free) unless OTEL_EXPORTER_OTLP_ENDPOINT is set; spans carry service.name = this service.
  const tracing = await startTracing(name, config);
  const ownsDatabase = !dependencies.database;
  const database =
    dependencies.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      schema: name,
      dataDir: config.DATABASE_URL ? undefined : join(config.DATA_DIR, name),
      poolSize: config.DATABASE_POOL_SIZE,
      tracing,
    }).catch(async (error: unknown) => {
      await tracing.shutdown();
      throw error;
    }));
  const migrated = await database.migrate(definition.migrationsDir).catch(async (error: unknown) => {
    if (ownsDatabase) await database.close().catch(() => {});
    await tracing.shutdown();
    throw error;
  });
  if (migrated.applied.length) logger.info({ applied: migrated.applied }, 'applied migrations');
  const db = definition.createClient(database);

  const ownsBus = !dependencies.bus;
  const bus = dependencies.bus ?? openEventBus(config, name, logger);
  const relay = new OutboxRelay(db, bus, logger.child({ component: 'outbox' }), { tracing });
  const metrics = createSubgraphMetrics(name, logger.child({ component: 'metrics' }));
  let liveFeed: LiveFeed | undefined;

  const runtime: ServiceRuntime<Db, Tx> = {
    name,
    db,
    bus,
    logger,
    transact: async (work) => {
      let emitted = false;
      const result = await db.$transaction(
        async (tx) => {
          // Written when the work is done, all in one statement (still inside the transaction).
          const events: OutboxEntry[] = [];
          const value = await work(tx, async (topic, event) => void events.push({ topic, event }));
          await enqueueEvents(tx, events);
          emitted = events.length > 0;
          return value;
        },
        { timeout: 15_000, maxWait: 5_000 },
      );
      // Outside the request's scope: the relay's timers must not count as this request's SQL.
      if (emitted) requestScope.exit(() => relay.nudge());
      return result;
    },
    processOnce: async (event, work) => {
      let processed = false;
      await runtime.transact(async (tx, emit) => {
        processed = await markProcessed(tx, name, event.id);
        if (processed) await work(tx, emit);
      });
      return processed;
    },
    liveFeed: (topics, options = {}) => {
      if (liveFeed) throw new Error(`${name}: liveFeed() was called twice; ask for every topic in one call`);
      liveFeed = new LiveFeed({
        ...options,
        service: name,
        topics,
        bus,
        logger: logger.child({ component: 'live-feed' }),
        tracing,
      });
      return liveFeed;
    },
    metrics: metrics.registry,
  };

  // Assigned once, further down; `abandon` may run before that and must then find nothing to stop.
  // eslint-disable-next-line prefer-const
  let consumers: BackgroundConsumers | undefined;
  // A start that fails part-way closes what it opened: no connection or timer is left behind.
  const abandon = async (error: unknown): Promise<never> => {
    await Promise.allSettled([consumers?.stop(), liveFeed?.stop()]);
    await relay.stop();
    if (ownsBus) await bus.close().catch(() => {});
    await (db as unknown as { $disconnect?: () => Promise<void> }).$disconnect?.().catch(() => {});
    if (ownsDatabase) await database.close().catch(() => {});
    await tracing.shutdown();
    throw error;
  };
  const parts = await Promise.resolve()
    .then(() => definition.build(runtime))
    .catch(abandon);
  relay.start();
  const consumerOptions: ConsumeOptions[] = [];
  for (const { name: consumerName, ...consumer } of parts.consumers ?? []) {
    const groupId = consumerName ? `${name}.${consumerName}` : name;
    if (consumerOptions.some((c) => c.groupId === groupId))
      await abandon(new Error(`${name}: two consumers share the group "${groupId}"; give each a distinct name`));
    consumerOptions.push({
      ...consumer,
      groupId,
      handler: traceConsumer(tracing, bus.kind, groupId, consumer.handler),
    });
  }
  // Topics are checked (or created) before the port opens: a missing topic stops the start.
  await bus.ensureTopics([...new Set(consumerOptions.flatMap((c) => c.topics))]).catch(abandon);
  consumers = startConsumersInBackground(bus, consumerOptions, logger.child({ component: 'consumers' }));
  metrics.watch({ db, bus, groups: consumerOptions.map(({ groupId, topics }) => ({ groupId, topics })) });
  // Before the port opens: every event after this point reaches the instance's subscribers.
  // (Its group is new for every instance, so joining it never waits for a rebalance.)
  await liveFeed?.start().catch(abandon);

  let draining = false;
  const subgraph = await createSubgraphServer<TContext>({
    name,
    typeDefs: definition.typeDefs,
    resolvers: parts.resolvers,
    permissions: parts.permissions,
    createContext: parts.createContext,
    secret: config.SUBGRAPH_SECRET,
    logger,
    production: config.NODE_ENV === 'production',
    maxBodyBytes: config.MAX_BODY_BYTES,
    tracing,
    ...(config.METRICS ? { metrics } : {}),
    // See service/readiness.ts for what makes an instance unready and what deliberately does not.
    ready: async () =>
      assessReadiness(
        {
          // A probe, not a GraphQL request: its statement must not count as one (statementCount, the metrics).
          // Awaited inside exit(): Prisma's query is lazy and would run where `.then` is called.
          database: await requestScope
            .exit(async () => void (await db.$queryRawUnsafe('SELECT 1')))
            .then(
              () => 'ok' as const,
              () => 'unreachable' as const,
            ),
          outbox: relay.status(),
          consumers: { ...consumers?.states(), ...(liveFeed ? { [liveFeed.groupId]: liveFeed.state() } : {}) },
        },
        draining,
      ),
  }).catch(abandon);
  const handler = parts.routes
    ? (req: IncomingMessage, res: ServerResponse) => {
        void Promise.resolve(parts.routes!(req, res)).then((handled) => handled || subgraph.handler(req, res));
      }
    : subgraph.handler;
  const http: Listening = await listen(handler, { port: definition.port, host: config.HOST, logger }).catch(
    async (error: unknown) => {
      await subgraph.apollo.stop();
      return abandon(
        new Error(`${name}: cannot listen on ${config.HOST}:${definition.port}: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    },
  );
  const subscriptions = subgraph.serveSubscriptions(http.server);
  logger.info({ url: http.url, subscriptions: Boolean(subscriptions) }, 'subgraph ready');

  let stopping: Promise<void> | undefined;
  return {
    name,
    url: http.url,
    port: http.port,
    schema: subgraph.schema,
    db,
    bus,
    database,
    relay,
    statementCount: () => database.statements.inRequests,
    activeSubscriptions: () => subscriptions?.activeSubscriptions() ?? 0,
    liveFeed,
    seed: async () => {
      await parts.seed?.();
    },
    // One ordered sequence: report unready and keep serving for SHUTDOWN_DELAY_MS (load balancers stop
    // sending), stop taking requests and finish those in flight (sockets, then HTTP), consumers (each
    // finishes its event and commits), a last publish of the outbox, bus, database.
    stop: () =>
      (stopping ??= (async () => {
        draining = true;
        http.drain();
        if (config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
        await subscriptions?.close();
        await http.close(config.SHUTDOWN_GRACE_MS);
        await subgraph.apollo.stop();
        await Promise.allSettled([consumers.stop(), liveFeed?.stop()]);
        await relay.stop();
        // What the last requests and events wrote goes out now, not at the next start.
        await relay
          .flush()
          .catch((error: unknown) =>
            logger.warn({ err: error }, 'outbox not flushed on stop; the next start publishes it'),
          );
        await parts.stop?.();
        if (ownsBus) await bus.close();
        await (db as unknown as { $disconnect?: () => Promise<void> }).$disconnect?.();
        if (ownsDatabase) await database.close();
        // Last: the spans of everything above are exported before the process goes.
        await tracing.shutdown();
        logger.info('stopped');
      })()),
    consumersRunning: consumers.running,
  };
}

export function openEventBus(config: ServiceConfig, clientId: string, logger: Logger): EventBus {
  return config.KAFKA_BROKERS
    ? new KafkaEventBus(
        {
          brokers: config.KAFKA_BROKERS,
          clientId,
          prefix: config.KAFKA_TOPIC_PREFIX,
          createTopics: config.KAFKA_CREATE_TOPICS,
        },
        logger.child({ component: 'kafka' }),
      )
    : new MemoryEventBus(logger.child({ component: 'bus' }));
}
