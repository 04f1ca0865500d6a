import { z } from 'zod';
import type { EventEnvelope } from '@storefront/platform/events';
import { isUuid } from '@storefront/platform/resolvers';

/**
 * The inventory events orders reads, as products publishes them (version 1).
 * An event that does not parse is an error, so the bus retries it and then
 * parks it on the dead-letter topic instead of orders misreading it.
 */
const uuid = z.string().refine(isUuid, 'must be a UUID');
const money = z.object({ amount: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) });

export const stockReservedData = z.object({
  orderId: uuid,
  lines: z.array(z.object({ productId: uuid, quantity: z.number().int().positive(), unitPrice: money })),
});

export const stockRejectedData = z.object({
  orderId: uuid,
  reason: z.string().min(1),
  unavailable: z.array(z.object({ productId: z.string(), requested: z.number(), available: z.number() })).optional(),
});

export const productAnnouncedData = z.object({ productId: uuid });

export type StockReserved = z.infer<typeof stockReservedData>;
export type StockRejected = z.infer<typeof stockRejectedData>;

export const SUPPORTED_VERSION = 1;

export function readEvent<T>(event: EventEnvelope, schema: z.ZodType<T>): T {
  if (event.version !== SUPPORTED_VERSION) {
    throw new Error(`${event.type} version ${event.version} is not supported (expected ${SUPPORTED_VERSION})`);
  }
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) throw new Error(`${event.type} ${event.id} is malformed: ${parsed.error.message}`);
  return parsed.data;
}
