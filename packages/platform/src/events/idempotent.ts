import type { RawSql } from '../db/sql.ts';

/**
 * Idempotent consumers: records that `consumer` has processed `eventId`.
 * Call it inside the transaction that applies the event's effect (the
 * service runtime's `processOnce` does), so the mark and the effect commit
 * together. Returns false when the event was already processed.
 */
export async function markProcessed(tx: RawSql, consumer: string, eventId: string): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    consumer,
    eventId,
  );
  return inserted > 0;
}
