import { DateTimeScalar, keysetQuery, toConnection } from '@storefront/platform/resolvers';
import { NotFoundError, UnauthenticatedError } from '@storefront/platform/errors';
import type { Resolvers } from '../generated/graphql.ts';
import * as accounts from '../accounts.ts';
import type { Context } from '../context.ts';

const signedIn = (ctx: Context) => {
  if (!ctx.identity) throw new UnauthenticatedError();
  return ctx.identity;
};

/**
 * After signing up or in, the rest of this response is read as that user,
 * so `AuthPayload.user { email }` passes the same field rules as `me { email }`.
 */
function actAs(ctx: Context, session: accounts.Session): accounts.Session {
  ctx.identity = { userId: session.user.id, role: session.user.role };
  return session;
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    me: (_parent, _args, ctx) => (ctx.identity ? ctx.loaders.userById.load(ctx.identity.userId) : null),
    user: async (_parent, { id }, ctx) => {
      const user = await ctx.loaders.userById.load(id);
      if (!user) throw new NotFoundError('User', id);
      return user;
    },
    users: async (_parent, args, ctx) => {
      const page = keysetQuery(args);
      const rows = await ctx.runtime.db.user.findMany({ where: page.where, orderBy: page.orderBy, take: page.take });
      return toConnection(rows, page.size);
    },
  },
  Mutation: {
    signUp: async (_parent, { input }, ctx) => actAs(ctx, await accounts.signUp(ctx, input)),
    logIn: async (_parent, { email, password }, ctx) => actAs(ctx, await accounts.logIn(ctx, email, password)),
    refreshSession: async (_parent, { refreshToken }, ctx) =>
      actAs(ctx, await accounts.refreshSession(ctx, refreshToken)),
    logOut: (_parent, { refreshToken }, ctx) => accounts.logOut(ctx, refreshToken),
    updateProfile: (_parent, { input }, ctx) => accounts.updateProfile(ctx, signedIn(ctx), input),
    deactivateUser: (_parent, { id }, ctx) => accounts.deactivateUser(ctx, signedIn(ctx), id),
    linkExternalIdentity: async (_parent, { input }, ctx) => {
      const user = await accounts.linkExternalIdentity(ctx, input);
      return { userId: user.id, role: user.role };
    },
  },
  User: {
    __resolveReference: (reference, ctx) => ctx.loaders.userById.load(reference.id),
  },
};
