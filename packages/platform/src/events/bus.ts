import type { EventEnvelope } from './envelope.ts';

/**
 * The event-bus port. Two adapters implement it with the same semantics
 * (proved by one contract suite): Kafka through kafkajs, and an in-process
 * bus for the embedded default.
 *
 * Semantics both guarantee:
 * - publish is durable once it resolves; the envelope's `aggregateId` is the
 *   key, and events with one key are delivered in publish order;
 * - every consumer group receives every event; within a group each event
 *   goes to one member;
 * - at-least-once: an event counts as consumed only when its handler
 *   resolves; a handler that keeps failing is retried `maxAttempts` times
 *   with backoff and then the event goes to `<topic>.dlq` with the reason;
 * - a consumer reports its state (`ConsumerHandle.state`) and says when the
 *   adapter gave up on it (`ConsumerHandle.failed`); a consumer that
 *   vanished without a word would stop a service's work while it still
 *   looked healthy.
 */
export interface DeliveredEvent {
  topic: string;
  partition: number;
  offset: string;
  event: EventEnvelope;
  /** Trace context from the message's `traceparent` header (Kafka); the envelope's own is the fallback. */
  traceparent?: string;
}

export type EventHandler = (delivered: DeliveredEvent) => Promise<void>;

export interface ConsumeOptions {
  groupId: string;
  topics: string[];
  handler: EventHandler;
  /**
   * Where a group that has never committed starts. Services start from the
   * beginning so nothing published before their first start is lost. With
   * `false` the group starts at the end: every event published after
   * `consume()` resolves is delivered (on Kafka, `consume()` waits until the
   * group has joined and resolved its offsets, so there is no window).
   * @default true
   */
  fromBeginning?: boolean;
  /**
   * Where a group that has never committed starts, as a time (epoch ms): at
   * the first event published at or after it (on Kafka, the messages'
   * timestamps; as far back as the topic keeps them). Overrides
   * `fromBeginning`. Once consume() resolves, everything published later
   * comes too, as with `fromBeginning: false`.
   */
  startAt?: number;
  /**
   * The group belongs to this one consumer (a live feed's per-instance
   * group): it is deleted when the consumer stops, so stopped instances
   * leave no groups behind. A crashed instance's group stays until the
   * broker expires it (Kafka: `offsets.retention.minutes`, 7 days).
   * @default false
   */
  ephemeral?: boolean;
  /** @default 5 */
  maxAttempts?: number;
  /** First retry delay; doubles on each attempt. @default 100 */
  retryDelayMs?: number;
}

/**
 * Where a consumer is, for readiness:
 * - `joining`: started, not in its group yet (its owner's state until consume() resolves);
 * - `running`: in its group, fetching;
 * - `restarting`: the adapter lost it to an error it retries (the broker is
 *   unreachable, the coordinator moved) and rejoins on its own;
 * - `stopped`: reads nothing more: stop() was called, or the adapter gave up
 *   on it (`failed` settles) and its owner must start a new one.
 */
export type ConsumerState = 'joining' | 'running' | 'restarting' | 'stopped';

export interface ConsumerHandle {
  /** Stops fetching and waits for the handler in flight; an ephemeral group is deleted. */
  stop(): Promise<void>;
  /** Never `joining`: consume() resolves once the consumer has joined (or is already restarting). */
  state(): ConsumerState;
  /**
   * Settles, with the error, when the adapter gave up on the consumer without
   * stop() being called (Kafka: kafkajs stopped it after an error it does
   * not restart on). The adapter has released it by then; what it had not
   * committed is delivered again to the group's next member, so a new
   * consumer of the same group continues where it ended. Never settles on
   * the embedded bus, whose consumers cannot crash.
   */
  readonly failed: Promise<Error>;
}

/** One partition of a topic a group reads: how many events it has not consumed yet. */
export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface EventBus {
  readonly kind: 'kafka' | 'memory';
  /** Creates the topics (and their dead-letter topics) if they do not exist. */
  ensureTopics(topics: string[]): Promise<void>;
  publish(topic: string, events: EventEnvelope[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<ConsumerHandle>;
  /**
   * Per partition of `topics`: events published and not yet consumed by the
   * group (metrics). A partition the group has never committed on counts
   * from the partition's start.
   */
  consumerLag(groupId: string, topics: string[]): Promise<PartitionLag[]>;
  /** Events each topic holds (metrics: what waits on the dead-letter topics). */
  topicSizes(topics: string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Events that reached the dead-letter topic carry why. */
export interface DeadLetter {
  event: EventEnvelope;
  topic: string;
  groupId: string;
  attempts: number;
  error: string;
}
