import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { BatchedOffsets } from '../src/events/kafka-offsets.ts';
import { createLogger } from '../src/logger/index.ts';

/**
 * What a consumer commits: only offsets whose handler finished, the furthest
 * of each partition in one commit, and on stop the event in hand too. The
 * event-bus contract suite proves the same against a real broker (a group
 * resumes where a stopped member ended; lag reaches 0; members share events
 * without duplicates).
 */
type Commit = { topic: string; partition: number; offset: string }[];

function recordingConsumer(failFirst = 0) {
  const commits: Commit[] = [];
  let failures = failFirst;
  const consumer = {
    commitOffsets: async (offsets: Commit) => {
      if (failures-- > 0) throw new Error('the coordinator is moving');
      commits.push(offsets);
    },
  } as unknown as Consumer;
  return { consumer, commits };
}

const logger = createLogger({ name: 'test', level: 'silent' });
const byPartition = (commit: Commit) => [...commit].sort((a, b) => a.partition - b.partition);

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('batched offset commits', () => {
  it('commits an event only once its handler has finished', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger);
    const handler = deferred();
    const tracked = offsets.track('orders', 0, '41', handler.promise);
    await offsets.commit();
    assert.deepEqual(commits, []);
    handler.resolve();
    await tracked;
    await offsets.commit();
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 0, offset: '42' }]]);
    await offsets.commit();
    assert.equal(commits.length, 1, 'nothing new, nothing sent');
  });

  it('sends the furthest handled offset of each partition in one commit', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger);
    for (const offset of ['5', '6', '7']) await offsets.track('orders', 0, offset, Promise.resolve());
    await offsets.track('orders', 1, '3', Promise.resolve());
    await offsets.track('orders', 0, '6', Promise.resolve()); // a redelivery after a rebalance
    await offsets.commit();
    assert.equal(commits.length, 1);
    assert.deepEqual(byPartition(commits[0]!), [
      { topic: 'orders', partition: 0, offset: '8' },
      { topic: 'orders', partition: 1, offset: '4' },
    ]);
  });

  it('never commits an event whose handler failed', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger);
    await offsets.track('orders', 0, '1', Promise.resolve());
    await assert.rejects(offsets.track('orders', 0, '2', Promise.reject(new Error('handler failed'))));
    await offsets.commit();
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 0, offset: '2' }]]);
  });

  it('keeps what a failed commit carried for the next one', async () => {
    const { consumer, commits } = recordingConsumer(1);
    const offsets = new BatchedOffsets(consumer, logger);
    await offsets.track('orders', 2, '9', Promise.resolve());
    await offsets.commit();
    assert.deepEqual(commits, []);
    await offsets.commit();
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 2, offset: '10' }]]);
  });

  it('commits on its own once an interval has passed', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger, 20);
    offsets.start();
    await offsets.track('orders', 0, '0', Promise.resolve());
    const deadline = Date.now() + 2_000;
    while (commits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    offsets.abandon();
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 0, offset: '1' }]]);
  });

  it('on stop, finishes the event in hand and commits it', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger);
    offsets.start();
    const handler = deferred();
    const tracked = offsets.track('orders', 0, '7', handler.promise);
    let stopped = false;
    const stopping = offsets.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stopped, false, 'stop waits for the handler');
    handler.resolve();
    await Promise.all([tracked, stopping]);
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 0, offset: '8' }]]);
  });

  it('forgets partitions a rebalance gave to another member', async () => {
    const { consumer, commits } = recordingConsumer();
    const offsets = new BatchedOffsets(consumer, logger);
    await offsets.track('orders', 0, '3', Promise.resolve());
    await offsets.track('orders', 1, '4', Promise.resolve());
    offsets.keepOnly({ orders: [1] });
    await offsets.commit();
    assert.deepEqual(commits, [[{ topic: 'orders', partition: 1, offset: '5' }]]);
  });
});
