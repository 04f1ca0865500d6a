import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, RedisStore, type KeyValueStore } from '@storefront/platform/store';
import { createTokenLeases, LEASE_SHARE } from '../../src/rate-limit/leases.ts';

/**
 * Leased tokens: a limit holds exactly on one instance and is never exceeded
 * across several, while most requests ask the shared store nothing. Over
 * Redis when REDIS_URL is set (the test command starts one), and over the
 * in-process store.
 */
const adapters: [string, () => KeyValueStore][] = [['memory', () => new MemoryStore()]];
if (process.env.REDIS_URL)
  adapters.push([
    'redis',
    () => new RedisStore({ url: process.env.REDIS_URL!, keyPrefix: `t${randomBytes(4).toString('hex')}:` }),
  ]);

const HOUR = { refillMs: 3_600_000 }; // nothing refills while a test runs

for (const [name, makeStore] of adapters) {
  describe(`rate-limit leases over the ${name} store`, { timeout: 30_000 }, () => {
    const stores: KeyValueStore[] = [];
    after(async () => {
      for (const store of stores) await store.close();
    });
    const counted = async () => {
      const store = makeStore();
      stores.push(store);
      for (let i = 0; store instanceof RedisStore && !store.available; i++) {
        if (i > 100) throw new Error('redis did not connect');
        await sleep(20);
      }
      let takes = 0;
      const takeTokens = store.takeTokens.bind(store);
      store.takeTokens = (...args) => {
        takes++;
        return takeTokens(...args);
      };
      return { store, takes: () => takes };
    };

    it('lets one instance spend exactly the limit, asking the store about one request in five', async () => {
      const { store, takes } = await counted();
      const leases = createTokenLeases(store);
      const key = `rl:${randomUUID()}`;
      const limit = { capacity: 100, ...HOUR };
      let allowed = 0;
      for (let i = 0; i < 100; i++) if ((await leases.take(key, limit, 1)).allowed) allowed++;
      assert.equal(allowed, 100);
      const refused = await leases.take(key, limit, 1);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs > 0, 'says when to come back');
      assert.ok(takes() <= 100 / (100 / LEASE_SHARE) + 6, `${takes()} takes from the store for 101 requests`);
    });

    it('never lets several instances together spend more than the limit, and refuses early by at most a lease each', async () => {
      const { store } = await counted();
      const instances = [createTokenLeases(store), createTokenLeases(store), createTokenLeases(store)];
      const key = `rl:${randomUUID()}`;
      const limit = { capacity: 200, ...HOUR };
      let allowed = 0;
      for (let i = 0; i < 400; i++) if ((await instances[i % 3]!.take(key, limit, 1)).allowed) allowed++;
      assert.ok(allowed <= 200, `${allowed} allowed`);
      assert.ok(allowed >= 200 - 3 * (200 / LEASE_SHARE), `${allowed} allowed`);
    });

    it('leases nothing under small limits: each request is counted in the store', async () => {
      const { store, takes } = await counted();
      const leases = createTokenLeases(store);
      const key = `rl:${randomUUID()}`;
      const limit = { capacity: 10, ...HOUR };
      const results = [];
      for (let i = 0; i < 11; i++) results.push((await leases.take(key, limit, 1)).allowed);
      assert.deepEqual(results, [...Array(10).fill(true), false]);
      assert.equal(takes(), 11);
    });

    it('spends leased tokens on a costlier request only when they cover it', async () => {
      const { store } = await counted();
      const leases = createTokenLeases(store);
      const key = `rl:${randomUUID()}`;
      const limit = { capacity: 100, ...HOUR };
      assert.equal((await leases.take(key, limit, 1)).allowed, true); // leases 5 more
      assert.equal((await leases.take(key, limit, 30)).allowed, true);
      assert.equal((await leases.take(key, limit, 60)).allowed, true);
      assert.equal((await leases.take(key, limit, 20)).allowed, false, 'only 9 left, 5 of them leased here');
      let allowed = 0;
      for (let i = 0; i < 20; i++) if ((await leases.take(key, limit, 1)).allowed) allowed++;
      assert.equal(allowed, 9, 'exactly the limit in all');
    });
  });
}
