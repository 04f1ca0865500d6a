import { randomUUID } from 'node:crypto';
import {
  consumeSupervised,
  type ConsumerState,
  type EventBus,
  type SupervisedConsumer,
  TOPICS,
} from '@storefront/platform/events';
import type { Logger } from '@storefront/platform/logger';
import { MemoryStore, type KeyValueStore } from '@storefront/platform/store';

/**
 * Ended sessions and deactivated users, so their access tokens stop at the
 * gateway within seconds instead of when they expire.
 *
 * The users service publishes `SessionRevoked {userId, sid}` (log out, a
 * replayed refresh token), `UserDeactivated {userId}` and `UserUpdated
 * {userId, role, …}` on user-events; a token whose role claim is no longer
 * the user's role stops too (a demoted admin keeps no admin token).
 * Every gateway instance consumes them in a group of its own, so each sees
 * every revocation, and records them in the shared store (Redis), where an
 * instance started later finds them too. A new instance's feed also starts
 * as far back as a token can live, so revocations published while no
 * instance ran (recorded by none) reach it as well. Entries expire once
 * every token they could match has expired (the longest accepted token
 * lifetime).
 *
 * A copy is also kept in this process: while Redis is unreachable the
 * revocations this instance heard of still apply, and when it is back the
 * ones recorded meanwhile are not lost to this instance.
 *
 * Most tokens are checked against that copy alone, with no call to Redis.
 * Once the feed is running, this instance hears every revocation published
 * from then on, and a revocation can only stop a token issued before it (a
 * user's or role's entry says up to when; a revoked session issues no more
 * tokens). So a token issued after the feed started listening, with room for
 * the services' clocks to differ, has every revocation that could stop it in
 * the copy. Only older tokens (those issued around or before this instance's
 * start) and every token while the feed is not running are also looked up in
 * the shared store, where revocations heard before this instance started are.
 * Access tokens live minutes, so a few minutes after a start no request
 * waits on Redis for this check.
 */
export interface RevocationList {
  isRevoked(token: { userId: string; sessionId: string; issuedAt: number; role: string }): Promise<boolean>;
  revokeSession(sessionId: string): Promise<void>;
  /** Every token of the user issued up to `at` (epoch seconds). */
  revokeUser(userId: string, at: number): Promise<void>;
  /** The user's role as of `at`: tokens issued up to then with another role stop. */
  recordRole(userId: string, role: string, at: number): Promise<void>;
}

const sessionKey = (sessionId: string) => `revoked:sid:${sessionId}`;
const userKey = (userId: string) => `revoked:user:${userId}`;
const roleKey = (userId: string) => `revoked:role:${userId}`;

/**
 * A token is covered by the local copy when its `iat` is at least this long
 * after the feed started, on top of JWT_CLOCK_TOLERANCE_SECONDS (how far the
 * users service's clock may be from the gateway's): room for `iat`'s whole
 * seconds and for a token issued while its session was being revoked.
 */
export const FEED_MARGIN_SECONDS = 5;

type TokenFacts = Parameters<RevocationList['isRevoked']>[0];

export interface LocalRevocationList extends RevocationList {
  /**
   * The revocation feed has joined: from `sinceMs` on it delivers every
   * revocation published, as long as its `state()` is `running`.
   */
  following(feed: { state(): ConsumerState }, sinceMs: number): void;
  close(): Promise<void>;
}

export function createRevocationList(
  shared: KeyValueStore,
  options: { ttlSeconds: number; clockToleranceSeconds: number },
): LocalRevocationList {
  const local = shared.kind === 'memory' ? undefined : new MemoryStore({ maxEntries: 1_000_000 });
  const stores = local ? [local, shared] : [shared];
  const ttlMs = options.ttlSeconds * 1000;
  let feed: { state(): ConsumerState } | undefined;
  let coveredFromSeconds = Infinity;
  // True when every revocation that could stop this token is in the local copy.
  const coveredLocally = (issuedAt: number) =>
    local !== undefined && issuedAt >= coveredFromSeconds && feed?.state() === 'running';

  const revokedIn = async (store: KeyValueStore, { userId, sessionId, issuedAt, role }: TokenFacts) => {
    const [session, user, roleAsOf] = await store.getMany([sessionKey(sessionId), userKey(userId), roleKey(userId)]);
    if (session !== undefined) return true;
    if (user !== undefined && issuedAt <= Number(user)) return true;
    if (roleAsOf !== undefined) {
      const [current, at] = roleAsOf.split(' ');
      if (current !== role && issuedAt <= Number(at)) return true;
    }
    return false;
  };
  const record = async (key: string, value: string) => {
    await Promise.all(stores.map((store) => store.set(key, value, { ttlMs })));
  };
  return {
    async isRevoked(token) {
      if (local && (await revokedIn(local, token))) return true;
      if (coveredLocally(token.issuedAt)) return false;
      return revokedIn(shared, token);
    },
    revokeSession: (sessionId) => record(sessionKey(sessionId), '1'),
    revokeUser: (userId, at) => record(userKey(userId), String(at)),
    recordRole: (userId, role, at) => record(roleKey(userId), `${role} ${at}`),
    following(running, sinceMs) {
      feed = running;
      coveredFromSeconds = Math.ceil(sinceMs / 1000) + options.clockToleranceSeconds + FEED_MARGIN_SECONDS;
    },
    close: async () => {
      await local?.close();
    },
  };
}

/**
 * Feeds the list from user-events, starting `rememberSeconds` back (as long as an entry is kept): a revocation
 * published while no gateway instance ran, which no instance recorded in the shared store, still reaches this one.
 * Until that replay is read, the list looks in the shared store for tokens issued before the feed started (`following`).
 * A consumer the bus gives up on is started again in the same group, so the revocations published meanwhile still come.
 */
export async function consumeRevocations(
  bus: EventBus,
  list: LocalRevocationList,
  logger: Logger,
  options: { rememberSeconds: number },
): Promise<SupervisedConsumer> {
  await bus.ensureTopics([TOPICS.userEvents]);
  const feed = await consumeSupervised(
    bus,
    {
      groupId: `gateway.revocations.${randomUUID()}`,
      topics: [TOPICS.userEvents],
      // As far back as a revocation can still matter: one published while no gateway ran still arrives.
      startAt: Date.now() - options.rememberSeconds * 1000,
      ephemeral: true,
      handler: async ({ event }) => {
        const data = event.data as { userId?: unknown; sid?: unknown; role?: unknown };
        // Up to the end of the second it happened in, and a second more: `iat` has whole seconds.
        const at = Math.floor(Date.parse(event.occurredAt) / 1000) + 1;
        if (event.type === 'SessionRevoked' && typeof data.sid === 'string') {
          await list.revokeSession(data.sid);
          logger.debug({ userId: data.userId, sid: data.sid }, 'session revoked');
        } else if (event.type === 'UserDeactivated' && typeof data.userId === 'string') {
          await list.revokeUser(data.userId, at);
          logger.debug({ userId: data.userId }, 'user revoked');
        } else if (event.type === 'UserUpdated' && typeof data.userId === 'string' && typeof data.role === 'string') {
          await list.recordRole(data.userId, data.role, at);
        }
      },
    },
    logger,
  );
  // consume() resolves once the group has joined and fixed its offsets: everything published from now on comes.
  list.following(feed, Date.now());
  return feed;
}
