import { createEvent, type EventEnvelope } from '@storefront/platform/events';

/**
 * The products side of the order saga on `inventory-events`, keyed by order
 * id like the order events that caused them.
 */
export interface Money {
  amount: number;
  currency: string;
}

export interface ReservedLine {
  productId: string;
  quantity: number;
  /** The catalog price when the stock was reserved: what the order is charged. */
  unitPrice: Money;
}

export interface UnavailableLine {
  productId: string;
  requested: number;
  /** 0 for a product the catalog does not have. */
  available: number;
}

/** `traceparent` of the order event that caused it, so one trace follows the saga. */
type Cause = { traceparent?: string | undefined };

const options = (cause: Cause) => (cause.traceparent ? { traceparent: cause.traceparent } : {});

export const stockReserved = (
  cause: Cause,
  orderId: string,
  lines: ReservedLine[],
): EventEnvelope<{ orderId: string; lines: ReservedLine[] }> =>
  createEvent('products', 'StockReserved', orderId, { orderId, lines }, options(cause));

export const stockRejected = (
  cause: Cause,
  orderId: string,
  reason: string,
  unavailable: UnavailableLine[],
): EventEnvelope<{ orderId: string; reason: string; unavailable: UnavailableLine[] }> =>
  createEvent('products', 'StockRejected', orderId, { orderId, reason, unavailable }, options(cause));

export const stockReleased = (cause: Cause, orderId: string): EventEnvelope<{ orderId: string }> =>
  createEvent('products', 'StockReleased', orderId, { orderId }, options(cause));
