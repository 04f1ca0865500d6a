import { z } from 'zod';
import type { EventEnvelope } from '@storefront/platform/events';
import { isUuid } from '@storefront/platform/resolvers';

/**
 * The shapes of the events this service consumes, checked before use. A
 * shape or version it does not know is an error: the bus retries it and then
 * parks it on the dead-letter topic, rather than this service misreading it.
 */
const uuid = z.string().refine(isUuid, 'must be a UUID');
const money = z.object({ amount: z.number().int(), currency: z.string().min(1) });

export const userSnapshotSchema = z.object({
  userId: uuid,
  email: z.string(),
  name: z.string(),
  emailNotifications: z.boolean(),
});

export const userDeactivatedSchema = z.object({ userId: uuid });

export const orderPlacedSchema = z.object({
  orderId: uuid,
  userId: uuid,
  items: z.array(z.object({ productId: z.string(), quantity: z.number().int().positive() })),
});

export const orderStatusChangedSchema = z.object({
  orderId: uuid,
  userId: uuid,
  status: z.enum(['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'REJECTED']),
  sequence: z.number().int(),
  at: z.string(),
  reason: z.string().nullish(),
  total: money.nullish(),
});

export type UserSnapshot = z.infer<typeof userSnapshotSchema>;
export type OrderPlaced = z.infer<typeof orderPlacedSchema>;
export type OrderStatusChanged = z.infer<typeof orderStatusChangedSchema>;

/** The data of a version-1 event, or an error naming what is wrong with it. */
export function readEvent<S extends z.ZodType>(event: EventEnvelope, schema: S): z.infer<S> {
  if (event.version !== 1) throw new Error(`${event.type} version ${event.version} is not supported`);
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`);
    throw new Error(`${event.type} ${event.id} is malformed: ${problems.join('; ')}`);
  }
  return parsed.data;
}
