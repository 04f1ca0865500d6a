import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../logger/logger.ts';
import type { ConsumeOptions, ConsumerHandle, ConsumerState, EventBus, PartitionLag } from './bus.ts';
import { deliverWithRetry } from './deliver.ts';
import { createEvent, deadLetterTopic, isEventEnvelope, type EventEnvelope } from './envelope.ts';
import { BatchedOffsets } from './kafka-offsets.ts';
import { stopKafkajsIdleLoop } from './kafkajs-idle-loop.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** Prepended to every topic and group id; lets test runs share one broker. @default '' */
  prefix?: string;
  /** @default 3 */
  partitions?: number;
  /**
   * Create missing topics, and let a publish create its topic. With `false` (topics managed outside the
   * application) a missing topic is an error naming it and KAFKA_CREATE_TOPICS. @default true
   */
  createTopics?: boolean;
}

/**
 * How long the broker may hold an empty fetch (a long poll). It answers at
 * once when an event arrives (minBytes stays 1), so this does not delay
 * events; it sets how often an idle consumer asks again (each ask costs the
 * broker and this process CPU), and how long `stop()` may take: kafkajs waits
 * for the fetch in flight before leaving the group. Members also notice a
 * rebalance only at their next heartbeat, which kafkajs sends between
 * fetches. 500 ms is the Java client's default: a fifth of the idle fetches
 * of 100 ms, at most half a second more to stop, far inside the session
 * timeout. Measured in bench/README.md ("Idle").
 */
export const FETCH_MAX_WAIT_MS = 500;

/** How long a STOP kafkajs emitted by itself may wait for its CRASH report (which follows within milliseconds). */
const SILENT_STOP_GRACE_MS = 5_000;

/** The event-bus port on Apache Kafka (kafkajs). See bus.ts for the semantics. */
export class KafkaEventBus implements EventBus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly prefix: string;
  private producer?: Promise<Producer>;
  private admin?: Promise<Admin>;
  private readonly consumers = new Set<Consumer>();

  constructor(
    private readonly options: KafkaBusOptions,
    private readonly logger: Logger,
  ) {
    this.prefix = options.prefix ?? '';
    stopKafkajsIdleLoop();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => this.logKafka(entry),
      retry: { retries: 8, initialRetryTime: 100 },
    });
  }

  async ensureTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.connectedAdmin();
    const existing = new Set(await admin.listTopics());
    const wanted = topics.flatMap((t) => [t, deadLetterTopic(t)]).map((t) => this.prefix + t);
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length > 0 && this.options.createTopics === false) {
      throw new Error(
        `KAFKA_CREATE_TOPICS is off and these topics do not exist: ${missing.join(', ')}. ` +
          'Create them (with their .dlq topics), or set KAFKA_CREATE_TOPICS=true',
      );
    }
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          // kafkajs' own wait gives up when a broker briefly answers "unknown topic"
          // for a topic it has just created (KRaft metadata lag); we wait ourselves.
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.options.partitions ?? 3,
            replicationFactor: 1,
          })),
        });
      } catch (error) {
        // Another instance may have created them a moment ago; that is what we wanted.
        if (!/already exists/i.test((error as Error).message)) throw error;
      }
    }
    // Also for topics that were listed: another instance may have created one a moment ago.
    await this.waitForLeaders(admin, wanted);
  }

  /** Polls topic metadata until every partition of `topics` has a leader. */
  private async waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
    // "Unknown topic" and "leader not available" are what a fresh topic answers for a moment.
    await retryRetriable(async () => {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      const led =
        metadata.length === topics.length &&
        metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (!led)
        throw Object.assign(new Error(`kafka: topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`), {
          retriable: true,
        });
    }, timeoutMs);
  }

  async publish(topic: string, events: EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const producer = await this.connectedProducer();
    await producer.send({
      topic: this.prefix + topic,
      acks: -1,
      messages: events.map((event) => ({
        key: event.aggregateId,
        value: JSON.stringify(event),
        headers: {
          'event-type': event.type,
          'event-id': event.id,
          // W3C trace context where Kafka tools and other consumers look for it (telemetry/events.ts).
          ...(event.traceparent ? { traceparent: event.traceparent } : {}),
        },
      })),
    });
  }

  async consume(options: ConsumeOptions): Promise<ConsumerHandle> {
    const consumer = this.kafka.consumer({
      groupId: this.prefix + options.groupId,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      sessionTimeout: 15_000,
      heartbeatInterval: 1_000,
      retry: { retries: 10, initialRetryTime: 200 },
    });
    let stopping = false;
    const offsets = new BatchedOffsets(consumer, this.logger);
    // Listening before run(): kafkajs may crash the consumer while run() is still joining.
    const watch = this.watchConsumer(consumer, offsets, () => stopping);
    try {
      await consumer.connect();
      await this.run(consumer, options, offsets, () => stopping);
    } catch (error) {
      watch.release();
      offsets.abandon();
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    // kafkajs' run() resolves even when the consumer crashed while joining and will not restart.
    const gaveUp = watch.gaveUp();
    if (gaveUp) {
      offsets.abandon();
      await consumer.disconnect().catch(() => {});
      throw gaveUp;
    }
    this.consumers.add(consumer);
    offsets.start();
    // Released by kafkajs already: the group's next member (its owner starts one) continues from the last commit.
    void watch.failed.then(() => {
      offsets.abandon();
      this.consumers.delete(consumer);
      return consumer.disconnect().catch(() => {});
    });
    return {
      state: watch.state,
      failed: watch.failed,
      stop: async () => {
        // From here no new event is handled (eachMessage skips it, uncommitted, for the next member); the one in
        // hand is finished and everything handled is committed while this member still belongs to the group.
        stopping = true;
        watch.release();
        await offsets.stop();
        this.consumers.delete(consumer);
        await consumer.disconnect();
        if (options.ephemeral) await this.deleteGroup(this.prefix + options.groupId);
      },
    };
  }

  private async run(
    consumer: Consumer,
    options: ConsumeOptions,
    offsets: BatchedOffsets,
    isStopping: () => boolean,
  ): Promise<void> {
    await consumer.subscribe({
      topics: options.topics.map((t) => this.prefix + t),
      fromBeginning: options.fromBeginning ?? true,
    });
    // A new group starting at the end would resolve "the end" only at its first fetch, which on a quiet topic
    // returns after a whole long poll; until then, events would be skipped. Read the ends now instead.
    const starts =
      options.startAt !== undefined || options.fromBeginning === false
        ? await this.startsOfUncommitted(options.groupId, options.topics, options.startAt)
        : [];
    const running = consumer.run({
      // Committed by BatchedOffsets, once a second, instead of after every batch (kafka-offsets.ts).
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (isStopping()) return; // not recorded, so not committed: the group's next member gets it
        await offsets.track(
          topic,
          partition,
          message.offset,
          this.handleMessage(topic, partition, message, options, isStopping),
        );
      },
    });
    // run() has created the group by now; kafkajs applies seeks at the first fetch after joining.
    for (const start of starts) consumer.seek(start);
    await running;
  }

  /** One message: its event to the handler (with retries and the dead-letter topic), or an unreadable one parked. */
  private async handleMessage(
    prefixedTopic: string,
    partition: number,
    message: KafkaMessage,
    options: ConsumeOptions,
    isStopping: () => boolean,
  ): Promise<void> {
    const topic = prefixedTopic.slice(this.prefix.length);
    const event = parseEnvelope(message.value);
    if (!event) {
      // A message nobody can read would block the partition forever: park it.
      const raw = message.value?.toString('utf8') ?? '';
      await this.publish(deadLetterTopic(topic), [
        createEvent('event-bus', 'DeadLetter', message.key?.toString() ?? 'unknown', {
          raw: raw.slice(0, 10_000),
          topic,
          groupId: options.groupId,
          attempts: 0,
          error: 'not a valid event envelope',
        }),
      ]);
      return;
    }
    const traceparent = message.headers?.traceparent?.toString();
    await deliverWithRetry(
      { topic, partition, offset: message.offset, event, ...(traceparent ? { traceparent } : {}) },
      options,
      (t, e) => this.publish(t, e),
      this.logger,
      isStopping,
    );
  }

  /**
   * Where a group reading from the end, or from a time, starts on each
   * partition it has no committed offset for: the partition's end now, or
   * its first message stamped at or after `startAt` (the end when there is
   * none). Every event published after this reaches the group. Partitions
   * with a committed offset (a group started again) go on from there.
   */
  private async startsOfUncommitted(
    groupId: string,
    topics: string[],
    startAt: number | undefined,
  ): Promise<{ topic: string; partition: number; offset: string }[]> {
    const positions = await retryRetriable(() => this.positions(groupId, topics));
    const uncommitted = positions.filter((p) => p.committed < 0);
    if (startAt === undefined)
      return uncommitted.map(({ topic, partition, high }) => ({ topic, partition, offset: high }));
    const admin = await this.connectedAdmin();
    const starts = [];
    for (const topic of new Set(uncommitted.map((p) => p.topic))) {
      const byTime = await retryRetriable(() => admin.fetchTopicOffsetsByTimestamp(topic, startAt));
      for (const { partition, offset } of byTime)
        if (uncommitted.some((p) => p.topic === topic && p.partition === partition))
          starts.push({ topic, partition, offset });
    }
    return starts;
  }

  /** Each partition of `topics` (prefixed names): the group's committed offset (-1: none yet) and the partition's ends. */
  private async positions(
    groupId: string,
    topics: string[],
  ): Promise<{ topic: string; partition: number; committed: number; high: string; low: string }[]> {
    const admin = await this.connectedAdmin();
    const committed = await admin.fetchOffsets({
      groupId: this.prefix + groupId,
      topics: topics.map((t) => this.prefix + t),
    });
    const positions = [];
    for (const { topic, partitions } of committed)
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic))
        positions.push({
          topic,
          partition,
          committed: Number(partitions.find((p) => p.partition === partition)?.offset ?? -1),
          high,
          low,
        });
    return positions;
  }

  /**
   * The consumer's state from kafkajs' instrumentation events (kafkajs 2.2.4,
   * src/consumer/index.js `onCrash`). Every crash first disconnects the
   * consumer (STOP), then emits CRASH with `restart`: true when the error is
   * retriable (a connection or protocol error that says so, or retries
   * exhausted on one: kafkajs rejoins after `retryTime` by itself), false
   * when it is not (an error marked non-retriable, a TypeError, RangeError,
   * ReferenceError or SyntaxError out of `eachMessage`, a broker error such
   * as MESSAGE_TOO_LARGE from the dead-letter publish): then nobody restarts
   * it and it would stop silently. `retry.restartOnFailure` is not set: it
   * could only turn more crashes into silent stops. A STOP we did not ask for
   * and no CRASH after it (kafkajs skips CRASH when its own disconnect fails)
   * is a consumer given up too.
   */
  private watchConsumer(consumer: Consumer, offsets: BatchedOffsets, isStopping: () => boolean) {
    let state: ConsumerState = 'joining';
    let gaveUp: Error | undefined;
    let reportFailure!: (error: Error) => void;
    const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
    let silentStop: NodeJS.Timeout | undefined;
    const giveUp = (error: Error) => {
      clearTimeout(silentStop);
      if (isStopping() || gaveUp) return;
      state = 'stopped';
      gaveUp = error;
      reportFailure(error);
    };
    const removers = [
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        offsets.keepOnly(payload.memberAssignment);
        clearTimeout(silentStop);
        if (!isStopping() && !gaveUp) state = 'running';
      }),
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(silentStop);
        if (isStopping() || gaveUp) return;
        // kafkajs has logged the crash (and the restart it schedules) through logKafka.
        if (payload.restart) state = 'restarting';
        else giveUp(payload.error);
      }),
      consumer.on(consumer.events.STOP, () => {
        if (isStopping() || gaveUp) return;
        clearTimeout(silentStop);
        silentStop = setTimeout(
          () => giveUp(new Error('kafkajs stopped the consumer without a crash report')),
          SILENT_STOP_GRACE_MS,
        );
        silentStop.unref();
      }),
    ];
    return {
      state: (): ConsumerState => (isStopping() ? 'stopped' : state),
      failed,
      gaveUp: () => gaveUp,
      release: () => {
        clearTimeout(silentStop);
        for (const remove of removers) remove();
      },
    };
  }

  private async deleteGroup(groupId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await (await this.connectedAdmin()).deleteGroups([groupId]);
        return;
      } catch (error) {
        // The broker may still be finishing the member's departure; a leftover group only costs a little broker memory.
        if (attempt >= 3) return void this.logger.warn({ err: error, groupId }, 'could not delete a consumer group');
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]> {
    if (topics.length === 0) return [];
    return (await this.positions(groupId, topics)).map(({ topic, partition, committed, high, low }) => ({
      topic: topic.slice(this.prefix.length),
      partition,
      // -1: nothing committed yet; the group reads from the partition's start (fromBeginning).
      lag: Math.max(0, Number(high) - (committed >= 0 ? committed : Number(low))),
    }));
  }

  async topicSizes(topics: string[]): Promise<Record<string, number>> {
    const admin = await this.connectedAdmin();
    const sizes: Record<string, number> = {};
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(this.prefix + topic);
      sizes[topic] = ends.reduce((n, { high, low }) => n + Number(high) - Number(low), 0);
    }
    return sizes;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    if (this.producer) await (await this.producer).disconnect().catch(() => {});
    if (this.admin) await (await this.admin).disconnect().catch(() => {});
  }

  private connectedProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: this.options.createTopics !== false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return producer;
    })();
    // A failed connect must not be cached forever.
    this.producer.catch(() => (this.producer = undefined));
    return this.producer;
  }

  private connectedAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.admin.catch(() => (this.admin = undefined));
    return this.admin;
  }

  private logKafka({ level, log }: LogEntry): void {
    const { message, ...extra } = log;
    if (level === logLevel.ERROR) this.logger.error(extra, `kafka: ${message}`);
    else if (level === logLevel.WARN) this.logger.warn(extra, `kafka: ${message}`);
  }
}

/**
 * Retries what a broker answers retriably for a moment, such as "not the
 * leader" for a topic it has just created (KRaft metadata lag); kafkajs'
 * admin calls do not retry these themselves.
 */
async function retryRetriable<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
    }
  }
}

function parseEnvelope(value: Buffer | null): EventEnvelope | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return isEventEnvelope(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
