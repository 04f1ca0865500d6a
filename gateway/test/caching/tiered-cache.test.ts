import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, RedisStore, type KeyValueStore } from '@storefront/platform/store';
import { tieredCache } from '../../src/caching/tiered-cache.ts';

/**
 * The two-level cache behind persisted queries and the response cache: two
 * gateway instances share the second level (Redis in production), each has
 * its own first level in memory.
 */
const adapters: [string, () => KeyValueStore][] = [['memory', () => new MemoryStore()]];
if (process.env.REDIS_URL) {
  adapters.push([
    'redis',
    () => new RedisStore({ url: process.env.REDIS_URL!, keyPrefix: `t${randomBytes(4).toString('hex')}:` }),
  ]);
}

async function connected(store: KeyValueStore): Promise<KeyValueStore> {
  for (let i = 0; store instanceof RedisStore && !store.available; i++) {
    if (i > 100) throw new Error('redis did not connect');
    await sleep(20);
  }
  return store;
}

for (const [name, makeStore] of adapters) {
  describe(`tiered cache over the ${name} store`, { timeout: 30_000 }, () => {
    const stores: KeyValueStore[] = [];
    after(() => Promise.all(stores.map((s) => s.close())));
    const shared = async () => {
      const store = await connected(makeStore());
      stores.push(store);
      return store;
    };

    it('serves an entry written by one instance to another instance sharing the store', async () => {
      const store = await shared();
      const a = tieredCache({ store, namespace: 'x:', memoryBytes: 1 << 20 });
      const b = tieredCache({ store, namespace: 'x:', memoryBytes: 1 << 20 });
      await a.set('hash', 'query { a | b }');
      assert.equal(await b.get('hash'), 'query { a | b }');
      assert.equal(await b.get('other'), undefined);
    });

    it('keeps namespaces apart', async () => {
      const store = await shared();
      await tieredCache({ store, namespace: 'apq:', memoryBytes: 1024 }).set('k', 'persisted');
      assert.equal(await tieredCache({ store, namespace: 'response:', memoryBytes: 1024 }).get('k'), undefined);
    });

    it('never serves an entry past its TTL, from either level', async () => {
      const store = await shared();
      const writer = tieredCache({ store, namespace: 'ttl:', memoryBytes: 1 << 20 });
      const reader = tieredCache({ store, namespace: 'ttl:', memoryBytes: 1 << 20 });
      await writer.set('short', 'v', { ttl: 1 });
      await sleep(400);
      // The reader copies it into its memory with the time it had left, not a fresh second.
      assert.equal(await reader.get('short'), 'v');
      await sleep(800);
      assert.equal(await reader.get('short'), undefined);
      assert.equal(await writer.get('short'), undefined);
    });

    it('deletes from both levels', async () => {
      const store = await shared();
      const a = tieredCache({ store, namespace: 'del:', memoryBytes: 1 << 20 });
      const b = tieredCache({ store, namespace: 'del:', memoryBytes: 1 << 20 });
      await a.set('k', 'v');
      await a.delete('k');
      assert.equal(await a.get('k'), undefined);
      assert.equal(await b.get('k'), undefined);
    });
  });
}

it('keeps serving from memory when the shared store fails', async () => {
  const broken: KeyValueStore = Object.assign(new MemoryStore(), {
    get: () => Promise.reject(new Error('store down')),
    set: () => Promise.reject(new Error('store down')),
  });
  const cache = tieredCache({ store: broken, namespace: 'x:', memoryBytes: 1024 });
  await cache.set('k', 'v');
  assert.equal(await cache.get('k'), 'v');
  assert.equal(await cache.get('missing'), undefined);
  await broken.close();
});
