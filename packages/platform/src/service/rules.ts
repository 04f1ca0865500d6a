import { allow, rule } from 'graphql-shield';
import { UnauthenticatedError, ForbiddenError } from '../errors/index.ts';
import type { BaseContext } from './context.ts';

/**
 * The shared graphql-shield rules. Rules that look only at the caller may
 * cache per request ('contextual'); rules that look at the parent object
 * must not ('no_cache'), or one object's answer leaks to another.
 */
export const isPublic = allow;

export const isAuthenticated = rule({ cache: 'contextual' })((_parent, _args, ctx: BaseContext) =>
  ctx.identity ? true : new UnauthenticatedError(),
);

export const isStaff = rule({ cache: 'contextual' })((_parent, _args, ctx: BaseContext) => {
  if (!ctx.identity) return new UnauthenticatedError();
  return ctx.identity.role === 'STAFF' || ctx.identity.role === 'ADMIN' ? true : new ForbiddenError();
});

export const isAdmin = rule({ cache: 'contextual' })((_parent, _args, ctx: BaseContext) => {
  if (!ctx.identity) return new UnauthenticatedError();
  return ctx.identity.role === 'ADMIN' ? true : new ForbiddenError();
});

/**
 * Allows the user an object belongs to, and staff. `ownerOf` reads the
 * owning user id from the parent (e.g. `user => user.id`, `order => order.userId`).
 */
export function ownerOrStaff<Parent>(name: string, ownerOf: (parent: Parent) => string | undefined | null) {
  return rule(name, { cache: 'no_cache' })((parent: Parent, _args, ctx: BaseContext) => {
    if (!ctx.identity) return new UnauthenticatedError();
    if (ctx.identity.role === 'STAFF' || ctx.identity.role === 'ADMIN') return true;
    return ownerOf(parent) === ctx.identity.userId ? true : new ForbiddenError();
  });
}
