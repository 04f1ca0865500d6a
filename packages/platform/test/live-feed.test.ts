import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { EventBus } from '../src/events/bus.ts';
import { createEvent } from '../src/events/envelope.ts';
import { KafkaEventBus } from '../src/events/kafka-bus.ts';
import { LiveFeed, LiveFeedOverflowError } from '../src/events/live-feed.ts';
import { MemoryEventBus } from '../src/events/memory-bus.ts';
import { createLogger } from '../src/logger/logger.ts';
import { mapStream, SKIP } from '../src/streams/index.ts';
import { eventually } from '../src/testing/index.ts';

const logger = createLogger({ name: 'test', level: 'silent' });
const adapters: [string, () => EventBus][] = [['memory', () => new MemoryEventBus(logger)]];
if (process.env.KAFKA_BROKERS) {
  adapters.push([
    'kafka',
    () =>
      new KafkaEventBus(
        {
          brokers: process.env.KAFKA_BROKERS!.split(','),
          clientId: 'live-feed-test',
          prefix: `l${randomBytes(4).toString('hex')}.`,
        },
        logger,
      ),
  ]);
}

const TOPIC = 'things';
const thing = (key: string, n: number, owner = 'ann') => createEvent('test', 'Thing', key, { n, owner });
const numbers = (items: { event: { data: unknown } }[]) => items.map((d) => (d.event.data as { n: number }).n);

async function take<T>(stream: AsyncIterator<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  while (items.length < count) {
    const next = await stream.next();
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

for (const [name, makeBus] of adapters) {
  describe(`live feed on the ${name} bus`, { timeout: 120_000 }, () => {
    const buses: EventBus[] = [];
    const feeds: LiveFeed[] = [];
    after(async () => {
      await Promise.all(feeds.map((f) => f.stop()));
      await Promise.all(buses.map((b) => b.close()));
    });
    const bus = () => {
      const b = makeBus();
      buses.push(b);
      return b;
    };
    const feed = async (on: EventBus, indexBy?: (d: { event: { data: unknown } }) => string[]) => {
      const f = new LiveFeed({ service: 'svc', topics: [TOPIC], bus: on, logger, indexBy, maxBuffered: 5 });
      feeds.push(f);
      await f.start();
      return f;
    };

    it('gives every instance every event (a group per instance), filtered per subscriber by key, index and filter', async () => {
      const shared = bus();
      const one = await feed(shared, ({ event }) => [`owner:${(event.data as { owner: string }).owner}`]);
      const two = await feed(shared, ({ event }) => [`owner:${(event.data as { owner: string }).owner}`]);
      assert.notEqual(one.groupId, two.groupId);
      assert.match(one.groupId, /^svc\.live\.[0-9a-f]+$/);

      const all = [one.subscribe({ topic: TOPIC }), two.subscribe({ topic: TOPIC })];
      const keyed = one.subscribe({ topic: TOPIC, key: 'a' });
      const byOwner = two.subscribe({ topic: TOPIC, key: 'owner:bob' });
      const even = one.subscribe({ topic: TOPIC, filter: ({ event }) => (event.data as { n: number }).n % 2 === 0 });
      await shared.publish(TOPIC, [thing('a', 1), thing('b', 2, 'bob'), thing('a', 3, 'bob'), thing('c', 4)]);

      for (const stream of all) assert.deepEqual(numbers(await take(stream, 4)).sort(), [1, 2, 3, 4]);
      assert.deepEqual(numbers(await take(keyed, 2)), [1, 3]);
      // Different aggregate keys, different partitions: only per-key order is promised.
      assert.deepEqual(numbers(await take(byOwner, 2)).sort(), [2, 3]);
      assert.deepEqual(numbers(await take(even, 2)).sort(), [2, 4]);
      for (const stream of [...all, keyed, byOwner, even]) await stream.return();
      assert.equal(one.listenerCount() + two.listenerCount(), 0);
    });

    it('return() unsubscribes at once, even while next() waits, and leaves no listener after many cycles', async () => {
      const b = bus();
      const f = await feed(b);
      for (let i = 0; i < 500; i++) {
        const stream = f.subscribe({ topic: TOPIC, key: `k${i % 7}` });
        const pending = i % 2 === 0 ? stream.next() : undefined;
        await stream.return();
        if (pending) assert.deepEqual(await pending, { value: undefined, done: true });
      }
      assert.equal(f.listenerCount(), 0);

      // Mapped streams release their source the same way.
      const mapped = mapStream(f.subscribe({ topic: TOPIC }), (d) => d.event.id);
      assert.equal(f.listenerCount(), 1);
      const waiting = mapped.next();
      await mapped.return();
      assert.deepEqual(await waiting, { value: undefined, done: true });
      assert.equal(f.listenerCount(), 0);
    });

    it('fails a subscriber that falls too far behind instead of buffering without bound', async () => {
      const b = bus();
      const f = await feed(b);
      const slow = f.subscribe({ topic: TOPIC, key: 'slow' });
      await b.publish(
        TOPIC,
        Array.from({ length: 8 }, (_, n) => thing('slow', n)),
      );
      await eventually(() => f.listenerCount() === 0, 30_000, 'the slow subscriber dropped');
      await assert.rejects(slow.next(), LiveFeedOverflowError);
      assert.deepEqual(await slow.next(), { value: undefined, done: true });
    });

    it('ends every stream when it stops', async () => {
      const b = bus();
      const f = await feed(b);
      const stream = f.subscribe({ topic: TOPIC });
      const waiting = stream.next();
      await f.stop();
      assert.deepEqual(await waiting, { value: undefined, done: true });
      assert.equal(f.listenerCount(), 0);
      assert.deepEqual(await f.subscribe({ topic: TOPIC }).next(), { value: undefined, done: true });
      assert.throws(() => f.subscribe({ topic: 'elsewhere' }), /does not read/);
    });
  });
}

describe('mapStream', () => {
  it('maps, skips, replays a prefix first, and ends after the last item', async () => {
    const source = (async function* () {
      yield* [3, 4, 5, 6, 7];
    })();
    const stream = mapStream(source, (n: number) => (n === 4 ? SKIP : n * 10), {
      prefix: [1, 2],
      isLast: (v) => v === 60,
    });
    const seen: number[] = [];
    for await (const value of stream) seen.push(value);
    assert.deepEqual(seen, [10, 20, 30, 50, 60]);
  });

  it('turns a failure into a last item when asked, and reports its end once', async () => {
    let ends = 0;
    const source = (async function* () {
      yield 1;
      throw new Error('broken');
    })();
    const stream = mapStream(source, (n: number) => ({ n }), {
      onError: (e) => ({ n: -1, error: (e as Error).message }),
      onEnd: () => ends++,
    });
    const seen = [];
    for await (const value of stream) seen.push(value);
    assert.deepEqual(seen, [{ n: 1 }, { n: -1, error: 'broken' }]);
    await stream.return();
    assert.equal(ends, 1);
  });
});
