import {
  isAdmin,
  isAuthenticated,
  isPublic,
  isStaff,
  ownerOrStaff,
  type BaseContext,
} from '@storefront/platform/service';
import { ForbiddenError, UnauthenticatedError } from '@storefront/platform/errors';
import { and, or, rule } from 'graphql-shield';
import type { IRules } from 'graphql-shield';

/** Who may read and do what in the users service. Anything not listed is denied. */
const isSelf = rule('users:isSelf', { cache: 'no_cache' })((parent: { id: string }, _args, ctx: BaseContext) => {
  if (!ctx.identity) return new UnauthenticatedError();
  return parent.id === ctx.identity.userId ? true : new ForbiddenError();
});

const isSelfByArgument = rule('users:isSelfByArgument', { cache: 'strict' })((
  _parent,
  args: { id: string },
  ctx: BaseContext,
) => {
  if (!ctx.identity) return new UnauthenticatedError();
  return args.id === ctx.identity.userId ? true : new ForbiddenError();
});

export const permissions: IRules = {
  Query: {
    me: isPublic,
    user: or(isSelfByArgument, isStaff),
    users: isStaff,
    _service: isPublic,
    _entities: isPublic,
  },
  Mutation: {
    signUp: isPublic,
    logIn: isPublic,
    refreshSession: isPublic,
    logOut: isPublic,
    updateProfile: isAuthenticated,
    deactivateUser: and(isAuthenticated, or(isSelfByArgument, isAdmin)),
    // Only the gateway reaches a service (signed requests), and no client operation can name an @inaccessible field.
    linkExternalIdentity: isPublic,
  },
  LinkedIdentity: isPublic,
  User: {
    id: isPublic,
    name: isAuthenticated,
    createdAt: isAuthenticated,
    email: ownerOrStaff<{ id: string }>('users:emailOwner', (user) => user.id),
    emailNotifications: ownerOrStaff<{ id: string }>('users:prefsOwner', (user) => user.id),
    role: or(isSelf, isAdmin),
  },
  AuthPayload: isPublic,
  UserConnection: isPublic,
  UserEdge: isPublic,
  PageInfo: isPublic,
  _Service: isPublic,
};
