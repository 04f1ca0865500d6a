import { DateTimeScalar, pageBounds } from '@storefront/platform/resolvers';
import { UnauthenticatedError } from '@storefront/platform/errors';
import type { Resolvers } from '../generated/graphql.ts';
import type { Context } from '../context.ts';
import { notificationReceived } from '../live.ts';
import { markRead, viewNotification } from '../notifications.ts';

const signedIn = (ctx: Context) => {
  if (!ctx.identity) throw new UnauthenticatedError();
  return ctx.identity;
};

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    notification: (_parent, { id }, ctx) => viewNotification(ctx, signedIn(ctx), id),
  },
  Mutation: {
    markNotificationRead: (_parent, { id }, ctx) => markRead(ctx, signedIn(ctx), id),
  },
  Subscription: {
    // Only `subscribe`: graphql-shield then checks the field's rule when subscribing, once.
    notificationReceived: { subscribe: (_parent, _args, ctx) => notificationReceived(ctx, signedIn(ctx)) },
  },
  User: {
    // Users owns the user; this service only adds `notifications`, so there is nothing to load.
    __resolveReference: (reference) => ({ id: reference.id }),
    notifications: (user, args, ctx) =>
      ctx.loaders.notificationsByUser.load({
        userId: user.id,
        ...pageBounds(args),
        unreadOnly: args.unreadOnly ?? false,
        channel: args.channel ?? 'IN_APP',
      }),
  },
  Notification: {
    __resolveReference: (reference, ctx) => ctx.loaders.notificationById.load(reference.id),
    user: (notification) => ({ id: notification.userId }),
  },
};
