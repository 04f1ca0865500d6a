import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { FallbackStore } from '../src/store/fallback-store.ts';
import { MemoryStore } from '../src/store/memory-store.ts';
import { RedisStore } from '../src/store/redis-store.ts';
import { captureLogs, eventually, freePort } from '../src/testing/index.ts';

/**
 * Redis going away must not take the caller down: the store answers from
 * process memory, says so once, and goes back to Redis when it returns.
 * The outage is a TCP proxy in front of the test Redis that we cut and
 * restore; with no Redis at all, a closed port stands in.
 */
const UNREACHABLE = /redis is unreachable/;
const BACK = /redis is reachable again/;

/** A cuttable line to Redis. */
class Proxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.server?.close(resolve));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

describe('fallback store: Redis outages', { timeout: 30_000 }, () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(() => Promise.all(closers.map((c) => c())));

  it('serves from memory when Redis was never reachable, and logs that once', async () => {
    const logs = captureLogs();
    const store = new FallbackStore(
      new RedisStore({ url: `redis://127.0.0.1:${await freePort()}` }),
      new MemoryStore(),
      logs.logger,
    );
    closers.push(() => store.close());
    const limit = { capacity: 3, refillMs: 60_000 };
    const takes = [];
    for (let i = 0; i < 5; i++) takes.push(await store.takeTokens('b', limit));
    assert.deepEqual(
      takes.map((t) => t.allowed),
      [true, true, true, false, false],
      'in-process buckets still limit',
    );
    await store.set('k', 'v');
    assert.equal(await store.get('k'), 'v');
    await eventually(() => logs.find(UNREACHABLE).length > 0, 5_000, 'the fallback log');
    await new Promise((r) => setTimeout(r, 500)); // reconnect attempts keep failing meanwhile
    assert.equal(logs.find(UNREACHABLE).length, 1, 'logged once, not per command or per reconnect');
    assert.equal(store.usingFallback, true);
  });

  it(
    'falls back when Redis goes away and returns to it when it is back',
    { skip: !process.env.REDIS_URL && 'needs REDIS_URL' },
    async () => {
      const proxy = new Proxy(await freePort(), new URL(process.env.REDIS_URL!));
      await proxy.open();
      closers.push(() => proxy.cut());
      const logs = captureLogs();
      const prefix = `t${randomBytes(4).toString('hex')}:`;
      const store = new FallbackStore(
        new RedisStore({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: prefix }),
        new MemoryStore(),
        logs.logger,
      );
      closers.push(() => store.close());
      await eventually(() => !store.usingFallback, 5_000, 'redis to connect');
      await store.set('shared', 'in-redis');

      await proxy.cut();
      await eventually(() => store.usingFallback, 5_000, 'the outage to be noticed');
      assert.equal(await store.get('shared'), undefined, 'answered by process memory');
      const limit = { capacity: 2, refillMs: 60_000 };
      const during = [];
      for (let i = 0; i < 3; i++) during.push((await store.takeTokens('b', limit)).allowed);
      assert.deepEqual(during, [true, true, false]);
      assert.equal(logs.find(UNREACHABLE).length, 1);

      await proxy.open();
      await eventually(() => !store.usingFallback, 10_000, 'redis to be used again');
      assert.equal(await store.get('shared'), 'in-redis');
      assert.equal(logs.find(BACK).length, 1);
      assert.equal(logs.find(UNREACHABLE).length, 1);
    },
  );
});
