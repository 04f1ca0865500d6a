import DataLoader from 'dataloader';
import { createByIdLoader } from '@storefront/platform/db';
import { isUuid, normaliseId, pageBounds, toConnection, type Connection } from '@storefront/platform/resolvers';
import type { Order, OrderItem, OrderStatusChange, OrdersDb } from './client.ts';

/**
 * Per-request loaders. Every list→entity edge goes through one of these, so a
 * page of N orders costs the same number of statements whatever N is.
 */
export function createLoaders(db: OrdersDb) {
  const ordersById = createByIdLoader((ids) => db.order.findMany({ where: { id: { in: ids } } }));

  const itemsByOrderId = new DataLoader<string, OrderItem[]>(async (orderIds) => {
    const rows = await db.orderItem.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { position: 'asc' }],
    });
    return groupBy(orderIds, rows, (item) => item.orderId);
  });

  const historyByOrderId = new DataLoader<string, OrderStatusChange[]>(async (orderIds) => {
    const rows = await db.orderStatusChange.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { sequence: 'asc' }],
    });
    return groupBy(orderIds, rows, (change) => change.orderId);
  });

  const ordersByUserId = new DataLoader<UserOrdersKey, Connection<Order>, string>(
    async (keys) => {
      // Users asked for with the same page arguments share one query (normally all of them).
      const groups = new Map<string, UserOrdersKey[]>();
      for (const key of keys) {
        const pageKey = JSON.stringify([key.first ?? null, key.after ?? null]);
        const group = groups.get(pageKey);
        if (group) group.push(key);
        else groups.set(pageKey, [key]);
      }
      const pages = new Map<UserOrdersKey, Connection<Order>>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const result = await userOrderPages(db, group);
          group.forEach((key, i) => pages.set(key, result[i]!));
        }),
      );
      return keys.map((key) => pages.get(key)!);
    },
    { cacheKeyFn: (key) => JSON.stringify([normaliseId(key.userId), key.first ?? null, key.after ?? null]) },
  );

  return { ordersById, itemsByOrderId, historyByOrderId, ordersByUserId };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface UserOrdersKey {
  userId: string;
  first?: number | null;
  after?: string | null;
}

/**
 * One page of orders for each user in `keys` (all with the same page
 * arguments) in one statement: a window query ranks each user's orders and
 * returns the rows of each page, newest first. (Two statements before — the
 * page's ids, then Prisma loading those orders — and an order history is
 * mostly such fixed costs per statement.) The columns are named as Prisma
 * names the fields, so a row is an `Order` as Prisma would return it.
 */
async function userOrderPages(db: OrdersDb, keys: UserOrdersKey[]): Promise<Connection<Order>[]> {
  const { size, after } = pageBounds(keys[0]!);
  const userIds = [
    ...new Set(
      keys
        .map((k) => k.userId)
        .filter(isUuid)
        .map(normaliseId),
    ),
  ];
  if (userIds.length === 0) return keys.map(() => toConnection([], size));
  const afterAt = after ? after.createdAt.toISOString() : null;
  const afterId = after ? after.id : null;
  const rows = await db.$queryRaw<Order[]>`
    SELECT id::text AS id, user_id::text AS "userId", status::text AS status, total_amount AS "totalAmount",
           currency, shipping_address AS "shippingAddress", idempotency_key AS "idempotencyKey",
           request_hash AS "requestHash", rejection_reason AS "rejectionReason", version,
           created_at AS "createdAt", updated_at AS "updatedAt"
    FROM (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS row_rank
      FROM orders
      WHERE user_id = ANY(${userIds}::uuid[])
        AND (${afterAt}::timestamptz IS NULL OR (created_at, id) < (${afterAt}::timestamptz, ${afterId}::uuid))
    ) ranked
    WHERE row_rank <= ${size + 1}
    ORDER BY created_at DESC, id DESC`;
  const pages = groupBy(userIds, rows, (order) => order.userId);
  const byUser = new Map(userIds.map((id, i) => [id, pages[i]!]));
  return keys.map((key) => toConnection(byUser.get(normaliseId(key.userId)) ?? [], size));
}

function groupBy<T>(keys: readonly string[], rows: T[], keyOf: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return keys.map((key) => groups.get(key) ?? []);
}
