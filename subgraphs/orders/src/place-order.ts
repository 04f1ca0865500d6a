import { createHash } from 'node:crypto';
import { TOPICS } from '@storefront/platform/events';
import { BadUserInputError } from '@storefront/platform/errors';
import { isUuid, normaliseId } from '@storefront/platform/resolvers';
import type { Identity } from '@storefront/platform/auth';
import type { Context } from './context.ts';
import type { Order } from './data/client.ts';
import { Prisma } from './data/generated/client.ts';
import type { ShippingAddress } from './data/views.ts';
import { orderPlaced } from './events/order-events.ts';

export const MAX_LINES = 100;
export const MAX_QUANTITY = 1000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 100;

export interface PlaceOrderInput {
  items: { productId: string; quantity: number }[];
  shippingAddress?: {
    line1: string;
    line2?: string | null;
    city: string;
    postalCode?: string | null;
    country: string;
  } | null;
}

/** A placeOrder request after validation: what is stored and what the request hash covers. */
export interface ValidOrderRequest {
  items: { productId: string; quantity: number }[];
  shippingAddress: ShippingAddress | null;
}

/**
 * Places a PENDING order; the stock reservation follows asynchronously
 * (OrderPlaced → products → StockReserved/StockRejected → saga.ts).
 *
 * Idempotent per (user, idempotencyKey): a retry with the same input gets the
 * order the first call created, also when both calls race (the unique index
 * refuses the second insert, which then reads the winner's order). The same
 * key with a different input is a client bug and is refused.
 */
export async function placeOrder(
  ctx: Context,
  identity: Identity,
  input: PlaceOrderInput,
  idempotencyKey: string,
): Promise<Order> {
  assertIdempotencyKey(idempotencyKey);
  const request = validateOrderRequest(input);
  const hash = requestHash(request);
  const key = { userId: identity.userId, idempotencyKey };

  const earlier = await ctx.runtime.db.order.findUnique({ where: { userId_idempotencyKey: key } });
  if (earlier) return sameRequestOrRefuse(earlier, hash);
  await assertKnownProducts(ctx, request);

  try {
    return await ctx.runtime.transact(async (tx, emit) => {
      const at = new Date();
      const order = await tx.order.create({
        data: {
          ...key,
          requestHash: hash,
          createdAt: at,
          ...(request.shippingAddress ? { shippingAddress: { ...request.shippingAddress } } : {}),
          items: { create: request.items.map((item, position) => ({ ...item, position })) },
          history: { create: { sequence: 1, status: 'PENDING', at } },
        },
      });
      await emit(TOPICS.orderEvents, orderPlaced(order, request.items));
      return order;
    });
  } catch (error) {
    if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')) throw error;
    const winner = await ctx.runtime.db.order.findUnique({ where: { userId_idempotencyKey: key } });
    if (!winner) throw error;
    return sameRequestOrRefuse(winner, hash);
  }
}

function sameRequestOrRefuse(order: Order, hash: string): Order {
  if (order.requestHash === hash) return order;
  throw new BadUserInputError('This idempotency key was already used for a different order', 'idempotencyKey');
}

/** SHA-256 of the normalised request; line order does not matter (a product appears once). */
export function requestHash(request: ValidOrderRequest): string {
  const items = [...request.items].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify({ items, shippingAddress: request.shippingAddress }))
    .digest('hex');
}

function assertIdempotencyKey(key: string): void {
  if (key.trim().length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadUserInputError(
      `Idempotency key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      'idempotencyKey',
    );
  }
}

/**
 * A product may appear on one line only: a second line for it is refused
 * rather than merged, so the stored lines are exactly the lines sent and the
 * per-line quantity limit cannot be side-stepped by splitting a line.
 */
export function validateOrderRequest(input: PlaceOrderInput): ValidOrderRequest {
  if (input.items.length === 0) throw new BadUserInputError('An order needs at least one item', 'input.items');
  if (input.items.length > MAX_LINES)
    throw new BadUserInputError(`An order can have at most ${MAX_LINES} items`, 'input.items');
  const lineOf = new Map<string, number>();
  const items = input.items.map((item, i) => {
    const field = `input.items[${i}]`;
    if (!isUuid(item.productId))
      throw new BadUserInputError(`"${item.productId}" is not a product id`, `${field}.productId`);
    const productId = normaliseId(item.productId);
    const earlier = lineOf.get(productId);
    if (earlier !== undefined) {
      throw new BadUserInputError(
        `Product ${productId} is already on line ${earlier}; put its whole quantity on one line`,
        `${field}.productId`,
      );
    }
    lineOf.set(productId, i);
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      throw new BadUserInputError(`Quantity must be a whole number from 1 to ${MAX_QUANTITY}`, `${field}.quantity`);
    }
    return { productId, quantity: item.quantity };
  });
  return { items, shippingAddress: input.shippingAddress ? validateAddress(input.shippingAddress) : null };
}

function validateAddress(address: NonNullable<PlaceOrderInput['shippingAddress']>): ShippingAddress {
  const field = (name: string) => `input.shippingAddress.${name}`;
  const text = (value: string | null | undefined, name: string, max: number, required: boolean): string | null => {
    const trimmed = (value ?? '').trim();
    if (required && trimmed.length === 0) throw new BadUserInputError(`${name} is required`, field(name));
    if (trimmed.length > max) throw new BadUserInputError(`${name} must be at most ${max} characters`, field(name));
    return trimmed.length ? trimmed : null;
  };
  const country = address.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country))
    throw new BadUserInputError('country must be a 2-letter ISO-3166 code, e.g. DE', field('country'));
  return {
    line1: text(address.line1, 'line1', 200, true)!,
    line2: text(address.line2, 'line2', 200, false),
    city: text(address.city, 'city', 100, true)!,
    postalCode: text(address.postalCode, 'postalCode', 20, false),
    country,
  };
}

/**
 * Products are known from the catalog's ProductCreated/ProductUpdated events
 * (saga.ts keeps `known_products`); orders never calls the products service.
 */
async function assertKnownProducts(ctx: Context, request: ValidOrderRequest): Promise<void> {
  const ids = request.items.map((item) => item.productId);
  const known = await ctx.runtime.db.knownProduct.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const knownIds = new Set(known.map((p) => p.id));
  const unknown = ids.findIndex((id) => !knownIds.has(id));
  if (unknown >= 0)
    throw new BadUserInputError(`Product ${ids[unknown]} does not exist`, `input.items[${unknown}].productId`);
}
