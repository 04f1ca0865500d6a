import type { Consumer } from 'kafkajs';
import type { Logger } from '../logger/logger.ts';

/**
 * How often a consumer writes down how far its handlers have got. kafkajs
 * with `autoCommit` commits after every fetched batch, and under a steady
 * trickle of events a batch is one event: every event then cost each group
 * an OffsetCommit round trip, a write to the broker's `__consumer_offsets`
 * log and the client work around it — in the realistic mix about as much of
 * the broker's CPU as the events themselves (bench/README.md, "Offset
 * commits"). Once a second keeps the lag metric current and bounds what a
 * crash redelivers to the last second's events, which the consumers'
 * processed-event records make harmless (events/idempotent.ts). The Java
 * client's own default (`auto.commit.interval.ms`) is five seconds.
 */
export const COMMIT_INTERVAL_MS = 1_000;

interface Position {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last handled event. */
  next: bigint;
}

/**
 * The offsets of one kafkajs consumer run with `autoCommit: false`: each
 * handled event is recorded, and what was recorded is committed every
 * COMMIT_INTERVAL_MS and once more when the consumer stops, after the event
 * in hand is finished, so a graceful stop hands the next member exactly
 * where this one ended. Offsets are only ever committed for events whose
 * handler resolved: a commit may come late, never early.
 */
export class BatchedOffsets {
  private readonly handled = new Map<string, Position>();
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private inHand: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly consumer: Consumer,
    private readonly logger: Logger,
    private readonly intervalMs = COMMIT_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.commit(), this.intervalMs);
    this.timer.unref();
  }

  /** Runs one event's handling and records its offset once it resolves. */
  async track(topic: string, partition: number, offset: string, handling: Promise<void>): Promise<void> {
    this.inHand = handling.catch(() => {});
    await handling;
    const key = `${topic}:${partition}`;
    const next = BigInt(offset) + 1n;
    if ((this.handled.get(key)?.next ?? -1n) < next) this.handled.set(key, { topic, partition, next });
  }

  /**
   * After a rebalance: forget partitions that went to another member, so a
   * late commit of ours cannot move their position back (it would only
   * redeliver, but needlessly). Their new owner reads from the last commit.
   */
  keepOnly(assignment: Record<string, number[]>): void {
    for (const [key, { topic, partition }] of this.handled)
      if (!assignment[topic]?.includes(partition)) this.handled.delete(key);
  }

  /** Commits what was handled since the last commit; a failure leaves it for the next try. */
  commit(): Promise<void> {
    if (this.committing || this.handled.size === 0) return this.committing ?? Promise.resolve();
    const snapshot = [...this.handled.values()];
    this.committing = this.consumer
      .commitOffsets(snapshot.map(({ topic, partition, next }) => ({ topic, partition, offset: next.toString() })))
      .then(() => {
        for (const position of snapshot) {
          const key = `${position.topic}:${position.partition}`;
          if (this.handled.get(key)?.next === position.next) this.handled.delete(key);
        }
      })
      .catch((error: unknown) => {
        // Not running (stopping, restarting) or rebalancing: the next try, or the next member's read, covers it.
        this.logger.debug({ err: error }, 'offset commit failed; will try again');
      })
      .finally(() => (this.committing = undefined));
    return this.committing;
  }

  /** Waits for the event in hand, commits everything handled, and stops the timer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inHand;
    await this.committing;
    await this.commit();
  }

  /** The consumer is gone (kafkajs gave up on it): nothing more can be committed. */
  abandon(): void {
    clearInterval(this.timer);
  }
}
