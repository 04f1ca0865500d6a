import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../src/store/memory-store.ts';
import { RedisStore } from '../src/store/redis-store.ts';
import type { KeyValueStore } from '../src/store/store.ts';

/**
 * One contract, two adapters: the in-process store must behave like Redis in
 * everything rate limiting, revocation and caching rely on. The Redis run
 * needs REDIS_URL (the test command starts a server); each run uses a key
 * prefix of its own so parallel files never meet.
 */
const adapters: [string, () => KeyValueStore][] = [['memory', () => new MemoryStore()]];
if (process.env.REDIS_URL) {
  adapters.push([
    'redis',
    () => new RedisStore({ url: process.env.REDIS_URL!, keyPrefix: `t${randomBytes(4).toString('hex')}:` }),
  ]);
}

/** Redis connects asynchronously; the contract is about a connected store. */
async function ready(store: KeyValueStore): Promise<KeyValueStore> {
  if (store instanceof RedisStore) {
    for (let i = 0; !store.available; i++) {
      if (i > 100) throw new Error('redis did not connect');
      await sleep(20);
    }
  }
  return store;
}

for (const [name, makeStore] of adapters) {
  describe(`key-value store contract: ${name}`, { timeout: 30_000 }, () => {
    const stores: KeyValueStore[] = [];
    const open = async () => {
      const store = makeStore();
      stores.push(store);
      return ready(store);
    };
    after(() => Promise.all(stores.map((s) => s.close())));

    it('gets what was set, overwrites, deletes, and reads absent keys as undefined', async () => {
      const store = await open();
      assert.equal(await store.get('missing'), undefined);
      await store.set('k', 'one');
      assert.equal(await store.get('k'), 'one');
      await store.set('k', 'two');
      assert.equal(await store.get('k'), 'two');
      assert.equal(await store.delete('k'), true);
      assert.equal(await store.delete('k'), false);
      assert.equal(await store.get('k'), undefined);
    });

    it('reads several keys in one call, in order', async () => {
      const store = await open();
      await store.set('a', '1');
      await store.set('c', '3');
      assert.deepEqual(await store.getMany(['a', 'b', 'c']), ['1', undefined, '3']);
      assert.deepEqual(await store.getMany([]), []);
    });

    it('expires a value after its TTL; a set without TTL clears the old one', async () => {
      const store = await open();
      await store.set('short', 'x', { ttlMs: 80 });
      await store.set('kept', 'x', { ttlMs: 80 });
      await store.set('kept', 'y');
      assert.equal(await store.get('short'), 'x');
      await sleep(200);
      assert.equal(await store.get('short'), undefined);
      assert.equal(await store.get('kept'), 'y');
      await assert.rejects(store.set('bad', 'x', { ttlMs: 0 }), RangeError);
    });

    it('hands out a full bucket, then refuses with the time until the next token', async () => {
      const store = await open();
      const limit = { capacity: 5, refillMs: 60_000 };
      for (let i = 4; i >= 0; i--)
        assert.deepEqual(await store.takeTokens('bucket', limit), { allowed: true, remaining: i, retryAfterMs: 0 });
      const refused = await store.takeTokens('bucket', limit);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      // One token takes 12 s to come back; a little of it has passed already.
      assert.ok(refused.retryAfterMs > 11_000 && refused.retryAfterMs <= 12_000, String(refused.retryAfterMs));
      assert.equal((await store.takeTokens('other-bucket', limit)).allowed, true, 'buckets are independent');
    });

    it('takes several tokens at once, all or nothing', async () => {
      const store = await open();
      const limit = { capacity: 10, refillMs: 60_000 };
      assert.equal((await store.takeTokens('multi', limit, 7)).remaining, 3);
      const refused = await store.takeTokens('multi', limit, 4);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 3, 'a refused take spends nothing');
      assert.equal((await store.takeTokens('multi', limit, 3)).allowed, true);
      await assert.rejects(store.takeTokens('multi', limit, 11), RangeError);
      await assert.rejects(store.takeTokens('multi', { capacity: 0, refillMs: 1000 }), RangeError);
    });

    it('never hands out more than the capacity to many parallel takers', async () => {
      const store = await open();
      const limit = { capacity: 25, refillMs: 3_600_000 };
      const takes = await Promise.all(Array.from({ length: 200 }, () => store.takeTokens('contended', limit)));
      assert.equal(takes.filter((t) => t.allowed).length, 25);
      const remaining = takes
        .filter((t) => t.allowed)
        .map((t) => t.remaining)
        .sort((a, b) => a - b);
      assert.deepEqual(remaining, [...Array(25).keys()], 'each token handed out once');
    });

    it('refills continuously with time, up to the capacity', async () => {
      const store = await open();
      // One token per second: slow enough that a loaded machine cannot refill one while the bucket is emptied.
      const limit = { capacity: 4, refillMs: 4_000 };
      for (let i = 0; i < 4; i++) assert.equal((await store.takeTokens('refill', limit)).allowed, true);
      const refused = await store.takeTokens('refill', limit);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000, String(refused.retryAfterMs));
      await sleep(refused.retryAfterMs + 30);
      assert.equal((await store.takeTokens('refill', limit)).allowed, true, 'a token came back');
      await sleep(4_500);
      // Long idle: full again, and not beyond full.
      const burst = await Promise.all(Array.from({ length: 6 }, () => store.takeTokens('refill', limit)));
      assert.equal(burst.filter((t) => t.allowed).length, 4);
    });

    it('forgets a bucket once it would be full again', async () => {
      const store = await open();
      const limit = { capacity: 2, refillMs: 100 };
      await store.takeTokens('idle', limit);
      if (store instanceof RedisStore) {
        const ttl = await store.client.pttl(`${(store as unknown as { prefix: string }).prefix}idle`);
        assert.ok(ttl > 0 && ttl <= 1_100, `bucket key expires (pttl ${ttl})`);
      } else {
        const memory = store as MemoryStore;
        assert.equal(memory.size, 1);
        await sleep(1_200);
        memory.sweep();
        assert.equal(memory.size, 0);
      }
    });
  });
}

describe('in-process store: bounded memory', () => {
  it('keeps at most maxEntries keys under a flood of distinct ones (one bucket per client address)', async () => {
    const store = new MemoryStore({ maxEntries: 1_000 });
    const limit = { capacity: 5, refillMs: 60_000 };
    for (let i = 0; i < 5_000; i++) await store.takeTokens(`ip:${i}`, limit);
    for (let i = 0; i < 5_000; i++) await store.set(`v:${i}`, 'x', { ttlMs: 60_000 });
    assert.ok(store.size <= 2_000, String(store.size));
    assert.equal(await store.get('v:4999'), 'x', 'the newest survive');
    await store.close();
  });
});
