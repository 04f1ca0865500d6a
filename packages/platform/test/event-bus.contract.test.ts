import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { DeliveredEvent, EventBus } from '../src/events/bus.ts';
import { createEvent, deadLetterTopic, type EventEnvelope } from '../src/events/envelope.ts';
import { FETCH_MAX_WAIT_MS, KafkaEventBus } from '../src/events/kafka-bus.ts';
import { MemoryEventBus } from '../src/events/memory-bus.ts';
import { createLogger } from '../src/logger/logger.ts';
import { eventually } from '../src/testing/index.ts';

/**
 * One contract, two adapters: the embedded bus must behave like Kafka in
 * everything the services rely on. The Kafka run needs KAFKA_BROKERS (the
 * test command starts a broker); without it only the embedded bus runs.
 */
const logger = createLogger({ name: 'test', level: 'silent' });

const adapters: [string, () => EventBus][] = [['memory', () => new MemoryEventBus(logger)]];
if (process.env.KAFKA_BROKERS) {
  adapters.push([
    'kafka',
    () =>
      new KafkaEventBus(
        {
          brokers: process.env.KAFKA_BROKERS!.split(','),
          clientId: 'contract-test',
          prefix: `c${randomBytes(4).toString('hex')}.`,
        },
        logger,
      ),
  ]);
}

const collect = () => {
  const seen: DeliveredEvent[] = [];
  return { seen, handler: async (d: DeliveredEvent) => void seen.push(d) };
};
const ev = (key: string, n: number): EventEnvelope => createEvent('test', 'Numbered', key, { n });

for (const [name, makeBus] of adapters) {
  describe(`event bus contract: ${name}`, { timeout: 180_000 }, () => {
    const buses: EventBus[] = [];
    const open = () => {
      const bus = makeBus();
      buses.push(bus);
      return bus;
    };
    after(async () => {
      await Promise.all(buses.map((b) => b.close()));
    });

    it('delivers every event to every group, keeping per-key order', async () => {
      const bus = open();
      await bus.ensureTopics(['orders']);
      const a = collect();
      const b = collect();
      await bus.consume({ groupId: 'group-a', topics: ['orders'], handler: a.handler });
      await bus.consume({ groupId: 'group-b', topics: ['orders'], handler: b.handler });
      const events = ['k1', 'k2', 'k3'].flatMap((key) => Array.from({ length: 10 }, (_, n) => ev(key, n)));
      // Interleave keys across several publishes, as concurrent orders would.
      for (let i = 0; i < 10; i++)
        await bus.publish(
          'orders',
          events.filter((e) => (e.data as { n: number }).n === i),
        );

      for (const group of [a, b]) {
        await eventually(() => group.seen.length >= 30, 30_000, '30 events');
        assert.equal(group.seen.length, 30, 'no duplicates in a healthy run');
        for (const key of ['k1', 'k2', 'k3']) {
          const order = group.seen
            .filter((d) => d.event.aggregateId === key)
            .map((d) => (d.event.data as { n: number }).n);
          assert.deepEqual(order, [...Array(10).keys()], `order of ${key}`);
        }
      }
    });

    it('a group that joins later still receives what was published before (from the beginning)', async () => {
      const bus = open();
      await bus.ensureTopics(['early']);
      await bus.publish('early', [ev('x', 1), ev('y', 2)]);
      const late = collect();
      await bus.consume({ groupId: 'late', topics: ['early'], handler: late.handler });
      await eventually(() => late.seen.length === 2, 30_000, 'both early events');
    });

    it('retries a failing handler and delivers the event again (at-least-once)', async () => {
      const bus = open();
      await bus.ensureTopics(['flaky']);
      let calls = 0;
      const done: string[] = [];
      await bus.consume({
        groupId: 'flaky-group',
        topics: ['flaky'],
        retryDelayMs: 10,
        handler: async (d) => {
          calls++;
          if (calls < 3) throw new Error('temporary failure');
          done.push(d.event.id);
        },
      });
      const event = ev('f', 1);
      await bus.publish('flaky', [event]);
      await eventually(() => done.length === 1, 30_000, 'handled after retries');
      assert.equal(calls, 3);
      assert.deepEqual(done, [event.id]);
    });

    it('parks an event that keeps failing on <topic>.dlq with the reason, and moves on', async () => {
      const bus = open();
      await bus.ensureTopics(['poison']);
      const handled: number[] = [];
      await bus.consume({
        groupId: 'poison-group',
        topics: ['poison'],
        maxAttempts: 3,
        retryDelayMs: 5,
        handler: async (d) => {
          const n = (d.event.data as { n: number }).n;
          if (n === 1) throw new Error('cannot handle order 1');
          handled.push(n);
        },
      });
      const dead = collect();
      await bus.consume({ groupId: 'dlq-reader', topics: [deadLetterTopic('poison')], handler: dead.handler });
      await bus.publish('poison', [ev('p', 1), ev('p', 2)]);
      await eventually(() => dead.seen.length === 1 && handled.includes(2), 30_000, 'dead letter and the next event');
      const letter = dead.seen[0]!.event.data as { error: string; attempts: number; event: EventEnvelope };
      assert.equal(letter.error, 'cannot handle order 1');
      assert.equal(letter.attempts, 3);
      assert.equal((letter.event.data as { n: number }).n, 1);
    });

    it('reports each partition’s consumer lag and each topic’s size (what the metrics read)', async () => {
      const bus = open();
      await bus.ensureTopics(['lagging']);
      // Nine events on three keys; no group has read any yet.
      await bus.publish(
        'lagging',
        ['a', 'b', 'c'].flatMap((key) => [1, 2, 3].map((n) => ev(key, n))),
      );
      const total = (lags: { lag: number }[]) => lags.reduce((n, p) => n + p.lag, 0);
      const before = await bus.consumerLag('lag-group', ['lagging']);
      assert.equal(total(before), 9, JSON.stringify(before));
      assert.ok(before.every((p) => p.topic === 'lagging' && Number.isInteger(p.partition)));
      assert.deepEqual(await bus.topicSizes(['lagging', deadLetterTopic('lagging')]), {
        lagging: 9,
        [deadLetterTopic('lagging')]: 0,
      });

      const reader = collect();
      const handle = await bus.consume({ groupId: 'lag-group', topics: ['lagging'], handler: reader.handler });
      await eventually(() => reader.seen.length === 9, 30_000, 'all nine events');
      // Kafka commits shortly after the handler resolves.
      await eventually(async () => total(await bus.consumerLag('lag-group', ['lagging'])) === 0, 30_000, 'lag 0');
      await handle.stop();
      await bus.publish('lagging', [ev('a', 4)]);
      assert.equal(total(await bus.consumerLag('lag-group', ['lagging'])), 1);
    });

    it('resumes a group from its committed position after a restart', async () => {
      const bus = open();
      await bus.ensureTopics(['resume']);
      const first = collect();
      const consumer = await bus.consume({ groupId: 'resumer', topics: ['resume'], handler: first.handler });
      await bus.publish('resume', [ev('r', 1), ev('r', 2)]);
      await eventually(() => first.seen.length === 2, 30_000, 'first two');
      await consumer.stop();

      await bus.publish('resume', [ev('r', 3)]);
      const second = collect();
      await bus.consume({ groupId: 'resumer', topics: ['resume'], handler: second.handler });
      await eventually(() => second.seen.length >= 1, 30_000, 'the third');
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        second.seen.map((d) => (d.event.data as { n: number }).n),
        [3],
      );
    });

    it('a group that starts at the end (fromBeginning: false) gets exactly what is published after consume() resolves', async () => {
      const bus = open();
      await bus.ensureTopics(['tail']);
      await bus.publish('tail', [ev('t', 1), ev('u', 2)]);
      const tail = collect();
      await bus.consume({ groupId: 'tail-reader', topics: ['tail'], fromBeginning: false, handler: tail.handler });
      // No settling pause: nothing published from here on may be skipped.
      await bus.publish('tail', [ev('t', 3), ev('u', 4), ev('v', 5)]);
      await eventually(() => tail.seen.length >= 3, 30_000, 'the three later events');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(tail.seen.map((d) => (d.event.data as { n: number }).n).sort(), [3, 4, 5]);
    });

    it('a group that starts at a time (startAt) gets what was published from then on, and all that comes later', async () => {
      const bus = open();
      await bus.ensureTopics(['since']);
      await bus.publish('since', [ev('s', 1), ev('t', 2)]);
      await new Promise((r) => setTimeout(r, 20));
      const startAt = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await bus.publish('since', [ev('s', 3), ev('u', 4)]);
      const since = collect();
      await bus.consume({ groupId: 'since-reader', topics: ['since'], startAt, handler: since.handler });
      await bus.publish('since', [ev('t', 5)]);
      await eventually(() => since.seen.length >= 3, 30_000, 'the events from then on');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(since.seen.map((d) => (d.event.data as { n: number }).n).sort(), [3, 4, 5]);
    });

    it('forgets an ephemeral group when its consumer stops', async () => {
      const bus = open();
      await bus.ensureTopics(['fleeting']);
      const first = collect();
      const consumer = await bus.consume({
        groupId: 'fleeting-reader',
        topics: ['fleeting'],
        fromBeginning: false,
        ephemeral: true,
        handler: first.handler,
      });
      await bus.publish('fleeting', [ev('f', 1)]);
      await eventually(() => first.seen.length === 1, 30_000, 'the first event');
      await consumer.stop();

      // A durable group would resume after event 1 and receive event 2; a forgotten one starts at the end again.
      await bus.publish('fleeting', [ev('f', 2)]);
      const again = collect();
      const second = await bus.consume({
        groupId: 'fleeting-reader',
        topics: ['fleeting'],
        fromBeginning: false,
        ephemeral: true,
        handler: again.handler,
      });
      await bus.publish('fleeting', [ev('f', 3)]);
      await eventually(() => again.seen.length >= 1, 30_000, 'the third event');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        again.seen.map((d) => (d.event.data as { n: number }).n),
        [3],
      );
      await second.stop();
    });

    it('reports a consumer running once consume() resolves, and stopped after stop()', async () => {
      const bus = open();
      await bus.ensureTopics(['watched']);
      const seen = collect();
      const consumer = await bus.consume({ groupId: 'watched-reader', topics: ['watched'], handler: seen.handler });
      assert.equal(consumer.state(), 'running');
      await bus.publish('watched', [ev('w', 1)]);
      await eventually(() => seen.seen.length === 1, 30_000, 'the event');
      assert.equal(consumer.state(), 'running', 'handling events leaves it running');
      await consumer.stop();
      assert.equal(consumer.state(), 'stopped');
      // `failed` is only for a consumer the bus gave up on: a stop is not one.
      const settled = await Promise.race([
        consumer.failed.then(() => true),
        new Promise((r) => setTimeout(r, 200, false)),
      ]);
      assert.equal(settled, false, 'failed settled after an ordinary stop');
    });

    it('an idle consumer gets a new event at once, not when its wait for events runs out', async (t) => {
      const bus = open();
      await bus.ensureTopics(['quiet']);
      const arrived = new Map<number, number>();
      await bus.consume({
        groupId: 'quiet-reader',
        topics: ['quiet'],
        handler: async (d) => void arrived.set((d.event.data as { n: number }).n, performance.now()),
      });
      const delays: number[] = [];
      for (let n = 0; n < 12; n++) {
        // Quiet until a random point of the consumer's wait for events: the event lands in a waiting fetch.
        await new Promise((r) => setTimeout(r, name === 'kafka' ? 50 + FETCH_MAX_WAIT_MS * Math.random() : 10));
        const sent = performance.now();
        await bus.publish('quiet', [ev('q', n)]);
        await eventually(() => arrived.has(n), 30_000, `event ${n}`);
        delays.push(arrived.get(n)! - sent);
      }
      delays.sort((a, b) => a - b);
      const median = delays[delays.length / 2]!;
      t.diagnostic(`publish → handler: median ${median.toFixed(1)} ms, max ${delays.at(-1)!.toFixed(1)} ms`);
      // Had the event waited for the fetch to run out, the median would be about half a wait.
      assert.ok(median < FETCH_MAX_WAIT_MS / 5, `median ${median} ms; all: ${delays.map(Math.round).join(', ')}`);
    });

    it('shares a group’s events between its members without duplicates', async () => {
      const bus = open();
      await bus.ensureTopics(['shared']);
      const one = collect();
      const two = collect();
      await bus.consume({ groupId: 'pair', topics: ['shared'], handler: one.handler });
      await bus.consume({ groupId: 'pair', topics: ['shared'], handler: two.handler });
      // Let the group settle before publishing (Kafka rebalances when the second member joins).
      await new Promise((r) => setTimeout(r, name === 'kafka' ? 4000 : 50));
      const events = Array.from({ length: 30 }, (_, n) => ev(`key-${n}`, n));
      await bus.publish('shared', events);
      await eventually(() => one.seen.length + two.seen.length >= 30, 60_000, 'all 30 across members');
      await new Promise((r) => setTimeout(r, 500));
      const ids = [...one.seen, ...two.seen].map((d) => d.event.id);
      assert.equal(new Set(ids).size, 30);
      assert.equal(ids.length, 30);
    });
  });
}
