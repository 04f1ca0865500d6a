import { randomUUID } from 'node:crypto';
import { traceparentOf } from '../telemetry/propagation.ts';

/**
 * Every event on the bus has this envelope. `id` is the dedup key for
 * idempotent consumers; `aggregateId` is the Kafka key, so one order's
 * events stay in one partition and in order; `version` lets a consumer
 * refuse a shape it does not know instead of misreading it.
 */
export interface EventEnvelope<T = unknown> {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  aggregateId: string;
  /** The service that produced it. */
  source: string;
  /**
   * W3C trace context of the work that caused it (a request, or the consumer
   * of an earlier event), when there was one; the relay publishes and every
   * consumer continues under it (telemetry/events.ts).
   */
  traceparent?: string;
  data: T;
}

export function createEvent<T>(
  source: string,
  type: string,
  aggregateId: string,
  data: T,
  options: { version?: number; traceparent?: string } = {},
): EventEnvelope<T> {
  // The span active here (with tracing on) is the most precise cause; else the cause's own context, copied.
  const traceparent = traceparentOf() ?? options.traceparent;
  return {
    id: randomUUID(),
    type,
    version: options.version ?? 1,
    occurredAt: new Date().toISOString(),
    aggregateId,
    source,
    ...(traceparent ? { traceparent } : {}),
    data,
  };
}

export function isEventEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.type === 'string' &&
    typeof v.version === 'number' &&
    typeof v.aggregateId === 'string' &&
    typeof v.occurredAt === 'string' &&
    'data' in v
  );
}

/** The topics of the storefront. One place, so a typo is a type error. */
export const TOPICS = {
  userEvents: 'user-events',
  orderEvents: 'order-events',
  inventoryEvents: 'inventory-events',
  notificationEvents: 'notification-events',
} as const;

export const deadLetterTopic = (topic: string) => `${topic}.dlq`;
