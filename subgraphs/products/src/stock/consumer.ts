import type { DeliveredEvent, EventEnvelope } from '@storefront/platform/events';
import { isUuid, normaliseId } from '@storefront/platform/resolvers';
import type { ServiceRuntime } from '@storefront/platform/service';
import { z } from 'zod';
import type { ProductsDb, ProductsTx } from '../data/client.ts';
import { releaseStock, reserveStock } from './reservations.ts';

/**
 * Consumes `order-events`: OrderPlaced reserves stock; OrderCancelled and
 * OrderRejected release it (orders may reject an order it cannot price even
 * after stock was reserved); every other order event is none of this
 * service's business.
 * An event of a shape or version this code does not know is thrown back, so
 * the bus retries it and then parks it on the dead-letter topic.
 */
const orderId = z.string().refine(isUuid, 'orderId must be a UUID').transform(normaliseId);

const orderPlacedV1 = z.object({
  orderId,
  items: z.array(z.object({ productId: z.string().min(1), quantity: z.number().int().min(1).max(1_000_000) })).min(1),
});

const orderCancelledV1 = z.object({ orderId });

export function orderEventsHandler(runtime: ServiceRuntime<ProductsDb, ProductsTx>) {
  return async ({ event }: DeliveredEvent): Promise<void> => {
    switch (event.type) {
      case 'OrderPlaced': {
        const data = parse(orderPlacedV1, event);
        await runtime.processOnce(event, async (tx, emit) => {
          const outcome = await reserveStock(tx, emit, event, data.orderId, data.items);
          runtime.logger.info(
            { event: 'stock_' + outcome, orderId: data.orderId, eventId: event.id },
            `stock ${outcome}`,
          );
        });
        return;
      }
      case 'OrderCancelled':
      case 'OrderRejected': {
        const data = parse(orderCancelledV1, event);
        await runtime.processOnce(event, async (tx, emit) => {
          const outcome = await releaseStock(tx, emit, event, data.orderId);
          if (outcome === 'released')
            runtime.logger.info(
              { event: 'stock_released', orderId: data.orderId, eventId: event.id },
              'stock released',
            );
        });
        return;
      }
      default:
        return;
    }
  };
}

function parse<T>(schema: z.ZodType<T>, event: EventEnvelope): T {
  if (event.version !== 1) throw new Error(`${event.type} version ${event.version} is not supported`);
  const parsed = schema.safeParse(event.data);
  if (!parsed.success) throw new Error(`${event.type} ${event.id} is malformed: ${parsed.error.message}`);
  return parsed.data;
}
