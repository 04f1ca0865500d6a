import { randomUUID } from 'node:crypto';
import { audit } from '@storefront/platform/logger';
import { TOPICS } from '@storefront/platform/events';
import { BadUserInputError, ForbiddenError, NotFoundError, UnauthenticatedError } from '@storefront/platform/errors';
import type { Identity } from '@storefront/platform/auth';
import { isUuid } from '@storefront/platform/resolvers';
import { assertStrongPassword, hashPassword, verifyPassword } from './auth/passwords.ts';
import { hashRefreshToken, newRefreshToken, signAccessToken } from './auth/sessions.ts';
import type { Context } from './context.ts';
import { Prisma } from './data/generated/client.ts';
import type { User, UsersTx } from './data/client.ts';
import { sessionRevoked, userDeactivated, userRegistered, userUpdated } from './events/user-events.ts';

/**
 * The account use cases. Resolvers stay thin and call these; every change
 * that others care about is published through the outbox in the same
 * transaction as the change.
 */
export interface Session {
  /** The refresh-token family: the `sid` of every access token of this session. */
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseEmail(email: string, field = 'input.email'): string {
  const normalised = email.trim().toLowerCase();
  if (!EMAIL.test(normalised) || normalised.length > 254)
    throw new BadUserInputError('Email address is not valid', field);
  return normalised;
}

function validName(name: string, field = 'input.name'): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100)
    throw new BadUserInputError('Name must be 1 to 100 characters', field);
  return trimmed;
}

export async function signUp(ctx: Context, input: { email: string; password: string; name: string }): Promise<Session> {
  const email = normaliseEmail(input.email);
  const name = validName(input.name);
  assertStrongPassword(input.password);
  const passwordHash = await hashPassword(input.password, ctx.config.PASSWORD_HASH_COST);
  try {
    const session = await ctx.runtime.transact(async (tx, emit) => {
      const user = await tx.user.create({ data: { email, name, passwordHash } });
      await emit(TOPICS.userEvents, userRegistered(user));
      return openSession(ctx, tx, user, randomUUID());
    });
    audit(ctx.logger, 'signup', { userId: session.user.id, email });
    return session;
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new BadUserInputError('An account with this email already exists', 'input.email');
    }
    throw error;
  }
}

export async function logIn(ctx: Context, emailInput: string, password: string): Promise<Session> {
  const email = emailInput.trim().toLowerCase();
  const user = await ctx.runtime.db.user.findUnique({ where: { email } });
  // Same answer, and a hash computed either way, whether or not the account exists.
  const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyHash(ctx.config.PASSWORD_HASH_COST)));
  if (!user || !valid || user.deactivatedAt) {
    const reason = !user ? 'unknown account' : !valid ? 'wrong password' : 'account deactivated';
    audit(ctx.logger, 'login_failed', { email, userId: user?.id, reason });
    throw new UnauthenticatedError('Email or password is incorrect');
  }
  const session = await ctx.runtime.transact((tx) => openSession(ctx, tx, user, randomUUID()));
  audit(ctx.logger, 'login', { userId: user.id, sid: session.sessionId });
  return session;
}

export async function refreshSession(ctx: Context, refreshToken: string): Promise<Session> {
  const hash = hashRefreshToken(refreshToken);
  return ctx.runtime
    .transact(async (tx, emit) => {
      const stored = await tx.refreshToken.findUnique({ where: { tokenHash: hash }, include: { user: true } });
      if (!stored) {
        audit(ctx.logger, 'token_rejected', { kind: 'refresh', reason: 'unknown' });
        throw new UnauthenticatedError('Refresh token is not valid');
      }
      if (stored.revokedAt || stored.expiresAt <= new Date() || stored.user.deactivatedAt) {
        audit(ctx.logger, 'token_rejected', {
          kind: 'refresh',
          reason: 'session ended',
          userId: stored.userId,
          sid: stored.familyId,
        });
        throw new UnauthenticatedError('Session has ended; log in again');
      }
      // Spend the token; only one of two concurrent uses can win this update.
      const spent = await tx.refreshToken.updateMany({
        where: { id: stored.id, usedAt: null },
        data: { usedAt: new Date() },
      });
      if (spent.count === 0) {
        // A spent token came back: it was stolen or replayed. End the whole family, and its access tokens.
        await tx.refreshToken.updateMany({
          where: { familyId: stored.familyId, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        await emit(TOPICS.userEvents, sessionRevoked(stored.userId, stored.familyId));
        audit(ctx.logger, 'refresh_token_reuse', { userId: stored.userId, sid: stored.familyId });
        return null;
      }
      return openSession(ctx, tx, stored.user, stored.familyId);
    })
    .then((session) => {
      // Thrown after commit, so the family's revocation is kept.
      if (!session) throw new UnauthenticatedError('Refresh token was already used; session revoked');
      return session;
    });
}

/** Ends the session the refresh token belongs to: its refresh tokens now, its access tokens at the gateway within seconds. */
export async function logOut(ctx: Context, refreshToken: string): Promise<boolean> {
  const stored = await ctx.runtime.db.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(refreshToken) } });
  if (!stored) return false;
  await ctx.runtime.transact(async (tx, emit) => {
    const revoked = await tx.refreshToken.updateMany({
      where: { familyId: stored.familyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (revoked.count > 0) await emit(TOPICS.userEvents, sessionRevoked(stored.userId, stored.familyId));
  });
  audit(ctx.logger, 'logout', { userId: stored.userId, sid: stored.familyId });
  return true;
}

export async function updateProfile(
  ctx: Context,
  identity: Identity,
  input: { name?: string | null; emailNotifications?: boolean | null },
): Promise<User> {
  const data: { name?: string; emailNotifications?: boolean } = {};
  if (input.name !== undefined && input.name !== null) data.name = validName(input.name);
  if (input.emailNotifications !== undefined && input.emailNotifications !== null)
    data.emailNotifications = input.emailNotifications;
  return ctx.runtime.transact(async (tx, emit) => {
    const user = await tx.user.update({ where: { id: identity.userId }, data }).catch(() => {
      throw new NotFoundError('User', identity.userId);
    });
    await emit('user-events', userUpdated(user));
    return user;
  });
}

export async function deactivateUser(ctx: Context, identity: Identity, id: string): Promise<User> {
  if (identity.userId !== id && identity.role !== 'ADMIN')
    throw new ForbiddenError('Only an admin can deactivate another user');
  if (!isUuid(id)) throw new NotFoundError('User', id);
  return ctx.runtime.transact(async (tx, emit) => {
    const existing = await tx.user.findUnique({ where: { id } });
    if (!existing) throw new NotFoundError('User', id);
    if (existing.deactivatedAt) return existing;
    const user = await tx.user.update({ where: { id }, data: { deactivatedAt: new Date() } });
    await tx.refreshToken.updateMany({ where: { userId: id, revokedAt: null }, data: { revokedAt: new Date() } });
    await emit(TOPICS.userEvents, userDeactivated(user));
    audit(ctx.logger, 'user_deactivated', { userId: id, actorId: identity.userId });
    return user;
  });
}

async function openSession(ctx: Context, tx: UsersTx, user: User, familyId: string): Promise<Session> {
  const refresh = newRefreshToken();
  await tx.refreshToken.create({
    data: {
      userId: user.id,
      familyId,
      tokenHash: refresh.hash,
      expiresAt: new Date(Date.now() + ctx.tokens.refreshTtlSeconds * 1000),
    },
  });
  return {
    sessionId: familyId,
    accessToken: await signAccessToken(ctx.tokens, user, familyId),
    refreshToken: refresh.token,
    expiresIn: ctx.tokens.accessTtlSeconds,
    user,
  };
}

// A real hash of a random password at the configured cost: checking an unknown
// email takes as long as checking a known one, so timing does not reveal accounts.
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(cost: number): Promise<string> {
  let hash = dummyHashes.get(cost);
  if (!hash) dummyHashes.set(cost, (hash = hashPassword(randomUUID(), cost)));
  return hash;
}

/** A password hash no password matches: accounts created by an external sign-in have no password of ours. */
const NO_PASSWORD = 'external-sign-in-only';

export interface ExternalIdentityInput {
  issuer: string;
  subject: string;
  email?: string | null;
  emailVerified: boolean;
  name?: string | null;
}

/**
 * The user an external OpenID Connect sign-in acts as (the gateway verified
 * the provider's token). A known (issuer, subject) is its user. On first
 * sight it joins the account with the same email only when the provider
 * verified that email (otherwise anyone could claim a customer's address at
 * a provider that does not check it); without such an account, a new one is
 * made, announced like a sign-up.
 */
export async function linkExternalIdentity(ctx: Context, input: ExternalIdentityInput): Promise<User> {
  const key = { issuer: input.issuer, subject: input.subject };
  const known = await ctx.runtime.db.externalIdentity.findUnique({
    where: { issuer_subject: key },
    include: { user: true },
  });
  if (known) return usable(known.user);
  if (!input.email) throw new BadUserInputError('The provider sent no email claim to link the account by', 'email');
  const email = normaliseEmail(input.email, 'email');
  try {
    const user = await ctx.runtime.transact(async (tx, emit) => {
      const existing = await tx.user.findUnique({ where: { email } });
      if (existing && !input.emailVerified) {
        audit(ctx.logger, 'external_link_refused', { ...key, userId: existing.id, reason: 'email not verified' });
        throw new ForbiddenError('The provider has not verified this email; it cannot sign in to an existing account');
      }
      const user =
        existing ??
        (await tx.user.create({
          data: { email, name: validName(input.name || email.split('@')[0]!, 'name'), passwordHash: NO_PASSWORD },
        }));
      if (!existing) await emit(TOPICS.userEvents, userRegistered(user));
      await tx.externalIdentity.create({ data: { ...key, userId: user.id } });
      return user;
    });
    audit(ctx.logger, 'external_identity_linked', { ...key, userId: user.id });
    return usable(user);
  } catch (error) {
    // Two first sign-ins at once: the other one linked it; use its answer.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')
      return linkExternalIdentity(ctx, input);
    throw error;
  }
}

function usable(user: User): User {
  if (user.deactivatedAt) throw new ForbiddenError('This account is deactivated');
  return user;
}
