import { DateTimeScalar, keysetQuery, pageBounds, toConnection } from '@storefront/platform/resolvers';
import { isStaff } from '@storefront/platform/auth';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '@storefront/platform/errors';
import type { Resolvers } from '../generated/graphql.ts';
import type { Context } from '../context.ts';
import type { Money, ShippingAddress } from '../data/views.ts';
import { myOrderUpdates, orderStatusChanged } from '../live.ts';
import { placeOrder } from '../place-order.ts';
import { transitionOrder } from '../transitions.ts';

const signedIn = (ctx: Context) => {
  if (!ctx.identity) throw new UnauthenticatedError();
  return ctx.identity;
};

const money = (amount: number | null, currency: string | null): Money | null =>
  amount === null || currency === null ? null : { amount, currency };

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    order: async (_parent, { id }, ctx) => {
      const identity = signedIn(ctx);
      const order = await ctx.loaders.ordersById.load(id);
      if (!order) throw new NotFoundError('Order', id);
      if (order.userId !== identity.userId && !isStaff(identity)) throw new ForbiddenError('This is not your order');
      return order;
    },
    orders: async (_parent, args, ctx) => {
      const page = keysetQuery(args);
      const rows = await ctx.runtime.db.order.findMany({
        where: { AND: [page.where, args.status ? { status: args.status } : {}] },
        orderBy: page.orderBy,
        take: page.take,
      });
      for (const order of rows) ctx.loaders.ordersById.prime(order.id, order);
      return toConnection(rows, page.size);
    },
  },
  Mutation: {
    placeOrder: (_parent, { input, idempotencyKey }, ctx) => placeOrder(ctx, signedIn(ctx), input, idempotencyKey),
    payOrder: (_parent, { id }, ctx) => transitionOrder(ctx, signedIn(ctx), id, 'pay'),
    shipOrder: (_parent, { id }, ctx) => transitionOrder(ctx, signedIn(ctx), id, 'ship'),
    deliverOrder: (_parent, { id }, ctx) => transitionOrder(ctx, signedIn(ctx), id, 'deliver'),
    cancelOrder: (_parent, { id }, ctx) => transitionOrder(ctx, signedIn(ctx), id, 'cancel'),
  },
  Subscription: {
    // Only `subscribe`: graphql-shield then checks the field's rule when subscribing, once.
    orderStatusChanged: { subscribe: (_parent, args, ctx) => orderStatusChanged(ctx, signedIn(ctx), args) },
    myOrderUpdates: { subscribe: (_parent, _args, ctx) => myOrderUpdates(ctx, signedIn(ctx)) },
  },
  User: {
    // Users owns the user; orders only needs the id to find their orders.
    __resolveReference: (reference) => ({ id: reference.id }),
    orders: (user, args, ctx) => {
      pageBounds(args); // a bad cursor fails this field, not the whole batch
      return ctx.loaders.ordersByUserId.load({ userId: user.id, first: args.first, after: args.after });
    },
  },
  Order: {
    __resolveReference: (reference, ctx) => ctx.loaders.ordersById.load(reference.id),
    user: (order) => ({ __typename: 'User', id: order.userId }),
    items: async (order, _args, ctx) =>
      (await ctx.loaders.itemsByOrderId.load(order.id)).map((item) => ({ ...item, currency: order.currency })),
    total: (order) => money(order.totalAmount, order.currency),
    // A pushed Order reflects one event (its `version`); later changes are not part of it yet.
    statusHistory: async (order, _args, ctx) =>
      (await ctx.loaders.historyByOrderId.load(order.id)).filter((change) => change.sequence <= order.version),
    shippingAddress: (order) => order.shippingAddress as ShippingAddress | null,
  },
  OrderItem: {
    product: (item) => ({ __typename: 'Product', id: item.productId }),
    unitPrice: (item) => money(item.unitPrice, item.currency),
    lineTotal: (item) => money(item.unitPrice === null ? null : item.unitPrice * item.quantity, item.currency),
  },
};
