import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createEvent,
  KafkaEventBus,
  MemoryEventBus,
  TOPICS,
  type ConsumerState,
  type EventBus,
} from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import { eventually } from '@storefront/platform/testing';
import { MemoryStore, RedisStore, type KeyValueStore } from '@storefront/platform/store';
import { consumeRevocations, createRevocationList, FEED_MARGIN_SECONDS } from '../../src/auth/revocation.ts';

const logger = createLogger({ name: 'test', level: 'silent' });

/**
 * Which tokens the revocation list looks up in the shared store. Another
 * gateway instance records what it heard there (`revokedElsewhere`); this
 * instance's own feed puts what it hears in both. Over Redis when REDIS_URL
 * is set (the test command starts one), else over an in-process store
 * standing in for it.
 */
const CLOCK_TOLERANCE_SECONDS = 5;

async function sharedStore(): Promise<{ store: KeyValueStore; lookups: () => number }> {
  const inner: KeyValueStore = process.env.REDIS_URL
    ? new RedisStore({ url: process.env.REDIS_URL, keyPrefix: `t${randomBytes(4).toString('hex')}:` })
    : new MemoryStore();
  for (let i = 0; inner instanceof RedisStore && !inner.available; i++) {
    if (i > 100) throw new Error('redis did not connect');
    await sleep(20);
  }
  let lookups = 0;
  const store: KeyValueStore = {
    kind: 'redis',
    get: (key) => inner.get(key),
    getMany: (keys) => {
      lookups++;
      return inner.getMany(keys);
    },
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key) => inner.delete(key),
    takeTokens: (key, limit, cost) => inner.takeTokens(key, limit, cost),
    close: () => inner.close(),
  };
  return { store, lookups: () => lookups };
}

async function setUp() {
  const shared = await sharedStore();
  const list = createRevocationList(shared.store, { ttlSeconds: 60, clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS });
  let state: ConsumerState = 'running';
  const feed = { state: () => state, set: (next: ConsumerState) => (state = next) };
  const startedMs = Date.now();
  list.following(feed, startedMs);
  const started = Math.ceil(startedMs / 1000);
  const token = (issuedAt: number, userId = randomUUID()) => ({
    userId,
    sessionId: randomUUID(),
    issuedAt,
    role: 'CUSTOMER',
  });
  // Another instance heard it and recorded it in the shared store; this one did not.
  const revokedElsewhere = (sessionId: string) => shared.store.set(`revoked:sid:${sessionId}`, '1', { ttlMs: 60_000 });
  const close = async () => {
    await list.close();
    await shared.store.close();
  };
  return { list, feed, shared, started, token, revokedElsewhere, close };
}

describe('gateway: the revocation list and the shared store', { timeout: 30_000 }, () => {
  const opened: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of opened) await close();
  });
  const open = async () => {
    const parts = await setUp();
    opened.push(parts.close);
    return parts;
  };

  it('checks a token issued after the feed started against its own copy alone, which holds what it heard', async () => {
    const { list, shared, started, token } = await open();
    const fresh = token(started + CLOCK_TOLERANCE_SECONDS + FEED_MARGIN_SECONDS + 1);
    assert.equal(await list.isRevoked(fresh), false);
    assert.equal(shared.lookups(), 0, 'no shared-store lookup for a token the feed covers');

    await list.revokeSession(fresh.sessionId);
    assert.equal(await list.isRevoked(fresh), true);
    const later = token(fresh.issuedAt);
    await list.revokeUser(later.userId, fresh.issuedAt);
    assert.equal(await list.isRevoked(later), true, 'a user revoked after the token was issued');
    assert.equal(shared.lookups(), 0);
  });

  it('looks up a token issued before the feed started (or too near its start) in the shared store too', async () => {
    const { list, shared, started, token, revokedElsewhere } = await open();
    for (const issuedAt of [started - 300, started, started + FEED_MARGIN_SECONDS]) {
      const old = token(issuedAt);
      assert.equal(await list.isRevoked(old), false);
      await revokedElsewhere(old.sessionId);
      assert.equal(await list.isRevoked(old), true, `issued at start ${issuedAt - started} s: heard of elsewhere`);
    }
    assert.equal(shared.lookups(), 6);
  });

  it('looks up every token in the shared store while its feed is not running', async () => {
    const { list, feed, shared, started, token, revokedElsewhere } = await open();
    const fresh = token(started + CLOCK_TOLERANCE_SECONDS + FEED_MARGIN_SECONDS + 1);
    for (const state of ['restarting', 'stopped'] as const) {
      feed.set(state);
      const before = shared.lookups();
      assert.equal(await list.isRevoked(fresh), false);
      assert.equal(shared.lookups(), before + 1, `feed ${state}`);
    }
    await revokedElsewhere(fresh.sessionId);
    assert.equal(await list.isRevoked(fresh), true, 'recorded by an instance whose feed was running');
  });

  it('looks up every token in the shared store until a feed has started', async () => {
    const shared = await sharedStore();
    const list = createRevocationList(shared.store, { ttlSeconds: 60, clockToleranceSeconds: 0 });
    opened.push(async () => {
      await list.close();
      await shared.store.close();
    });
    const farFuture = { userId: randomUUID(), sessionId: randomUUID(), issuedAt: 4_000_000_000, role: 'CUSTOMER' };
    assert.equal(await list.isRevoked(farFuture), false);
    assert.equal(shared.lookups(), 1);
  });
});

/**
 * The feed itself, over the embedded bus and Kafka (KAFKA_BROKERS, which the
 * test command starts): a session revoked while no gateway ran (so no
 * instance recorded it anywhere) still stops its token at a gateway started
 * later, as long as a token could still live.
 */
const buses: [string, () => EventBus][] = [['memory', () => new MemoryEventBus(logger)]];
if (process.env.KAFKA_BROKERS)
  buses.push([
    'kafka',
    () =>
      new KafkaEventBus(
        {
          brokers: process.env.KAFKA_BROKERS!.split(','),
          clientId: 'revocation-test',
          prefix: `r${randomBytes(4).toString('hex')}.`,
        },
        logger,
      ),
  ]);

for (const [name, makeBus] of buses) {
  describe(`gateway: the revocation feed over the ${name} bus`, { timeout: 60_000 }, () => {
    const closing: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closing.reverse()) await close();
    });

    it('hears revocations published before it started, back as far as a token can live', async () => {
      const bus = makeBus();
      closing.push(() => bus.close());
      await bus.ensureTopics([TOPICS.userEvents]);
      const revokeSession = (userId: string, sid: string) =>
        bus.publish(TOPICS.userEvents, [createEvent('users', 'SessionRevoked', userId, { userId, sid })]);
      const token = () => ({ userId: randomUUID(), sessionId: randomUUID(), issuedAt: 0, role: 'CUSTOMER' });
      const longAgo = token();
      await revokeSession(longAgo.userId, longAgo.sessionId);
      await sleep(3_000);
      const whileNoGatewayRan = token();
      await revokeSession(whileNoGatewayRan.userId, whileNoGatewayRan.sessionId);

      const list = createRevocationList(new MemoryStore(), { ttlSeconds: 60, clockToleranceSeconds: 0 });
      const feed = await consumeRevocations(bus, list, logger, { rememberSeconds: 2 });
      closing.push(async () => {
        await feed.stop();
        await list.close();
      });
      await eventually(() => list.isRevoked(whileNoGatewayRan), 30_000, 'the revocation published before the start');
      const later = token();
      await revokeSession(later.userId, later.sessionId);
      await eventually(() => list.isRevoked(later), 30_000, 'a revocation published after the start');
      assert.equal(await list.isRevoked(longAgo), false, 'older than any token it could stop: not replayed');
    });
  });
}
