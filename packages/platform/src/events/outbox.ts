import type { TransactionalSql, RawSql } from '../db/sql.ts';
import type { Logger } from '../logger/logger.ts';
import { startPublishSpans } from '../telemetry/events.ts';
import { tracingOff, type ServiceTracing } from '../telemetry/tracing.ts';
import type { EventBus } from './bus.ts';
import type { EventEnvelope } from './envelope.ts';

/**
 * Transactional outbox: a service writes its events into its own
 * `outbox_events` table in the same transaction as the change they describe,
 * and the relay publishes them afterwards. An event is never published for a
 * change that rolled back, and never lost for one that committed.
 * Delivery is at-least-once (a crash between publish and mark republishes);
 * consumers dedupe by event id.
 */
/** One event bound for a topic, as a transaction emits it. */
export interface OutboxEntry {
  topic: string;
  event: EventEnvelope;
}

/**
 * Writes a transaction's events to its outbox in one statement, in the order
 * given (the relay publishes by `sequence`, which follows the row order).
 */
export async function enqueueEvents(tx: RawSql, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO outbox_events (id, topic, aggregate_id, type, payload)
     SELECT e.id, e.topic, e.aggregate_id, e.type, e.payload::jsonb
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
            AS e(id, topic, aggregate_id, type, payload, position)
      ORDER BY e.position`,
    entries.map(({ event }) => event.id),
    entries.map(({ topic }) => topic),
    entries.map(({ event }) => event.aggregateId),
    entries.map(({ event }) => event.type),
    entries.map(({ event }) => JSON.stringify(event)),
  );
}

export interface OutboxRelayOptions {
  /** How often to look for unpublished rows when nobody nudged. @default 250 */
  pollIntervalMs?: number;
  /** @default 200 */
  batchSize?: number;
  /** A PRODUCER span per published event, under the context stored with its row (telemetry/events.ts). */
  tracing?: ServiceTracing;
}

const TRACING_OFF = tracingOff('outbox');

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private started = false;
  private failing = false;

  constructor(
    private readonly db: TransactionalSql,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions = {},
  ) {}

  start(): void {
    this.started = true;
    this.stopped = false;
    this.schedule(0, 'publish');
  }

  /** Call after committing a transaction that enqueued events: publish now, not at the next poll. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0, 'publish');
  }

  /**
   * For readiness: `running` (started and publishing), `retrying` (started,
   * the last attempt failed: the bus or the database is unreachable; the
   * events wait in the table) or `stopped`.
   */
  status(): 'running' | 'retrying' | 'stopped' {
    if (!this.started || this.stopped) return 'stopped';
    return this.failing ? 'retrying' : 'running';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Publishes everything pending now; returns how many events went out. */
  async flush(): Promise<number> {
    let total = 0;
    for (;;) {
      const sent = await this.publishBatch();
      total += sent;
      if (sent < (this.options.batchSize ?? 200)) return total;
    }
  }

  /**
   * `publish` when events are known to wait (a nudge, the start, a retry);
   * `poll` on the timer, which first asks whether anything waits at all: one
   * indexed statement instead of a transaction of four, on every instance
   * of every service, several times a second, all day.
   */
  private schedule(delay: number, run: 'publish' | 'poll'): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = (run === 'publish' ? this.flush() : this.flushIfPending())
        .then(() => void (this.failing = false))
        .catch((error: unknown) => {
          this.failing = true;
          this.logger.error({ err: error }, 'outbox relay failed; will retry');
        })
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const rerun = this.again;
          this.again = false;
          if (rerun) this.schedule(0, 'publish');
          else this.schedule(this.options.pollIntervalMs ?? 250, this.failing ? 'publish' : 'poll');
        });
    }, delay);
    this.timer.unref();
  }

  private async flushIfPending(): Promise<number> {
    const [row] = await this.db.$queryRawUnsafe<{ pending: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM outbox_events WHERE published_at IS NULL) AS pending`,
    );
    return row?.pending ? this.flush() : 0;
  }

  private publishBatch(): Promise<number> {
    return this.db.$transaction(
      async (tx) => {
        // One relay at a time per service: two would race and could reorder one order's events. The lock
        // is taken once, in the CTE (a volatile function keeps it from being inlined); while another
        // instance holds it, this one reads no rows.
        const rows = await tx.$queryRawUnsafe<{ sequence: bigint; topic: string; payload: EventEnvelope }[]>(
          `WITH relay AS (SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':outbox')) AS locked)
           SELECT o.sequence, o.topic, o.payload FROM relay, outbox_events o
           WHERE relay.locked AND o.published_at IS NULL ORDER BY o.sequence LIMIT $1`,
          this.options.batchSize ?? 200,
        );
        if (rows.length === 0) return 0;
        // Consecutive rows of one topic go out as one send, keeping the overall order.
        for (let start = 0; start < rows.length;) {
          let end = start;
          while (end < rows.length && rows[end]!.topic === rows[start]!.topic) end++;
          const topic = rows[start]!.topic;
          const publishing = startPublishSpans(
            this.options.tracing ?? TRACING_OFF,
            this.bus.kind,
            topic,
            rows.slice(start, end).map((r) => r.payload),
          );
          await this.bus.publish(topic, publishing.events).then(
            () => publishing.end(),
            (error: unknown) => {
              publishing.end(error);
              throw error;
            },
          );
          start = end;
        }
        await tx.$executeRawUnsafe(
          `UPDATE outbox_events SET published_at = now() WHERE sequence = ANY($1::bigint[])`,
          rows.map((r) => r.sequence.toString()),
        );
        return rows.length;
      },
      { timeout: 60_000, maxWait: 10_000 },
    );
  }
}
