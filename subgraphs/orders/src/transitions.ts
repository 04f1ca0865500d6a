import { ConflictError, ForbiddenError, NotFoundError } from '@storefront/platform/errors';
import { isStaff, type Identity } from '@storefront/platform/auth';
import { isUuid } from '@storefront/platform/resolvers';
import type { Context } from './context.ts';
import type { Order, OrderStatus } from './data/client.ts';
import { changeStatus } from './status.ts';
import type { StatusAfterPlacing } from './events/order-events.ts';

/**
 * What happens to an order after it is confirmed. Payment is simulated:
 * paying succeeds whenever the order may be paid.
 */
interface Transition {
  from: OrderStatus[];
  to: StatusAfterPlacing;
  /** Past participle for messages: "can be paid". */
  done: string;
  allowed: 'owner' | 'staff' | 'ownerOrStaff';
}

export const TRANSITIONS = {
  pay: { from: ['CONFIRMED'], to: 'PAID', done: 'paid', allowed: 'owner' },
  ship: { from: ['PAID'], to: 'SHIPPED', done: 'shipped', allowed: 'staff' },
  deliver: { from: ['SHIPPED'], to: 'DELIVERED', done: 'delivered', allowed: 'staff' },
  cancel: { from: ['PENDING', 'CONFIRMED', 'PAID'], to: 'CANCELLED', done: 'cancelled', allowed: 'ownerOrStaff' },
} as const satisfies Record<string, Transition>;

export async function transitionOrder(
  ctx: Context,
  identity: Identity,
  id: string,
  name: keyof typeof TRANSITIONS,
): Promise<Order> {
  const transition: Transition = TRANSITIONS[name];
  if (!isUuid(id)) throw new NotFoundError('Order', id);
  return ctx.runtime.transact(async (tx, emit) => {
    const order = await tx.order.findUnique({ where: { id } });
    if (!order) throw new NotFoundError('Order', id);
    authorize(identity, order, transition);
    if (!transition.from.includes(order.status)) throw wrongStatus(order, transition);
    const reason = transition.to === 'CANCELLED' ? cancelReason(identity, order) : null;
    const moved = await changeStatus(tx, emit, order, { to: transition.to, reason });
    if (moved) return moved;
    // Another change won the race; name the status it left behind.
    const current = await tx.order.findUniqueOrThrow({ where: { id } });
    throw wrongStatus(current, transition);
  });
}

function authorize(identity: Identity, order: Order, transition: Transition): void {
  const owner = order.userId === identity.userId;
  const permitted =
    transition.allowed === 'owner'
      ? owner
      : transition.allowed === 'staff'
        ? isStaff(identity)
        : owner || isStaff(identity);
  if (!permitted) throw new ForbiddenError(`You are not allowed to mark this order ${transition.done}`);
}

function wrongStatus(order: Order, transition: Transition): ConflictError {
  return new ConflictError(
    `Order ${order.id} is ${order.status}; only an order that is ${transition.from.join(' or ')} can be ${transition.done}`,
  );
}

const cancelReason = (identity: Identity, order: Order) =>
  order.userId === identity.userId ? 'Cancelled by the customer' : 'Cancelled by staff';
