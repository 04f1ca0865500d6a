import { TOPICS, type EventEnvelope } from '@storefront/platform/events';
import { isUuid, normaliseId } from '@storefront/platform/resolvers';
import type { Emit } from '@storefront/platform/service';
import type { ProductsTx } from '../data/client.ts';
import type { Prisma } from '../data/generated/client.ts';
import { productAvailabilityChanged } from '../events/product-events.ts';
import {
  stockRejected,
  stockReleased,
  stockReserved,
  type ReservedLine,
  type UnavailableLine,
} from '../events/stock-events.ts';

/**
 * The products side of the order saga. Both steps run inside the consumer's
 * `processOnce` transaction, so a redelivered event changes nothing twice.
 */
export interface RequestedLine {
  productId: string;
  quantity: number;
}

interface LockedProduct {
  id: string;
  name: string;
  price_amount: number;
  currency: string;
  stock_level: number;
}

/**
 * Reserves every line or none. The product rows are locked in id order, so
 * two orders over the same products queue up instead of deadlocking, and the
 * second one sees the stock the first one left.
 */
export async function reserveStock(
  tx: ProductsTx,
  emit: Emit,
  cause: EventEnvelope,
  orderId: string,
  items: RequestedLine[],
): Promise<'reserved' | 'rejected' | 'duplicate'> {
  if (await tx.stockReservation.findUnique({ where: { orderId }, select: { orderId: true } })) return 'duplicate';

  const requested = mergeLines(items);
  const ids = [...requested.keys()].filter(isUuid).sort();
  const locked = ids.length
    ? await tx.$queryRaw<LockedProduct[]>`
        SELECT id, name, price_amount, currency, stock_level FROM products
        WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`
    : [];
  const byId = new Map(locked.map((p) => [p.id, p]));

  const unavailable: UnavailableLine[] = [];
  const problems: string[] = [];
  for (const [productId, quantity] of requested) {
    const product = byId.get(productId);
    if (!product) {
      unavailable.push({ productId, requested: quantity, available: 0 });
      problems.push(`product ${productId} is not in the catalog`);
    } else if (product.stock_level < quantity) {
      unavailable.push({ productId, requested: quantity, available: product.stock_level });
      problems.push(`${product.name} (${quantity} requested, ${product.stock_level} in stock)`);
    }
  }
  if (unavailable.length) {
    await emit(
      TOPICS.inventoryEvents,
      stockRejected(cause, orderId, `Not available: ${problems.join('; ')}`, unavailable),
    );
    return 'rejected';
  }

  const lines: ReservedLine[] = [...requested].map(([productId, quantity]) => {
    const product = byId.get(productId)!;
    return { productId, quantity, unitPrice: { amount: product.price_amount, currency: product.currency } };
  });
  await changeStock(tx, emit, lines, -1);
  await tx.stockReservation.create({ data: { orderId, lines: lines as unknown as Prisma.InputJsonArray } });
  await emit(TOPICS.inventoryEvents, stockReserved(cause, orderId, lines));
  return 'reserved';
}

/** Gives a cancelled order's stock back, once: only the transaction that flips RESERVED to RELEASED does it. */
export async function releaseStock(
  tx: ProductsTx,
  emit: Emit,
  cause: EventEnvelope,
  orderId: string,
): Promise<'released' | 'nothing'> {
  const flipped = await tx.stockReservation.updateMany({
    where: { orderId, status: 'RESERVED' },
    data: { status: 'RELEASED', releasedAt: new Date() },
  });
  if (flipped.count === 0) return 'nothing';
  const reservation = await tx.stockReservation.findUniqueOrThrow({ where: { orderId } });
  const lines = reservation.lines as unknown as ReservedLine[];
  await changeStock(tx, emit, lines, +1);
  await emit(TOPICS.inventoryEvents, stockReleased(cause, orderId));
  return 'released';
}

/** One line per product, quantities of a repeated product added up, in the order's own order. */
function mergeLines(items: RequestedLine[]): Map<string, number> {
  const merged = new Map<string, number>();
  for (const item of items) {
    const id = normaliseId(item.productId);
    merged.set(id, (merged.get(id) ?? 0) + item.quantity);
  }
  return merged;
}

/** Changes the stock of every line; a product that runs out or comes back is announced (ProductAvailabilityChanged). */
async function changeStock(tx: ProductsTx, emit: Emit, lines: ReservedLine[], sign: 1 | -1): Promise<void> {
  const ordered = [...lines].sort((a, b) => (a.productId < b.productId ? -1 : 1));
  const ids = ordered.map((l) => l.productId);
  const deltas = ordered.map((l) => sign * l.quantity);
  // Lock in id order first (a no-op when reserve already holds the locks), then change all rows in one statement.
  await tx.$queryRaw`SELECT id FROM products WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`;
  const changed = await tx.$queryRaw<{ id: string; stock_level: number; delta: number }[]>`
    UPDATE products AS p
    SET stock_level = p.stock_level + change.delta, updated_at = now()
    FROM unnest(${ids}::uuid[], ${deltas}::int[]) AS change(id, delta)
    WHERE p.id = change.id
    RETURNING p.id, p.stock_level, change.delta`;
  for (const { id, stock_level: now, delta } of changed.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const inStockBefore = now - delta > 0;
    if (inStockBefore !== now > 0) await emit(TOPICS.inventoryEvents, productAvailabilityChanged(id, now > 0));
  }
}
