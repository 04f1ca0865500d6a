import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { stopKafkajsIdleLoop } from '../src/events/kafkajs-idle-loop.ts';
import { eventually } from '../src/testing/index.ts';

/**
 * kafkajs's request queue (one per broker connection), with the fix applied
 * as every Kafka client of the project gets it: no work while nothing waits,
 * and every queued request still goes out. The event-bus contract and live
 * feed suites prove the same end to end on a real broker.
 */
interface Queue {
  push(request: {
    entry: { correlationId: number; apiName: string; resolve(): void; reject(): void };
    expectResponse: boolean;
    sendRequest(): void;
  }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  checkPendingRequests(): void;
  destroy(): void;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (options: {
  maxInFlightRequests: number;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: Record<'debug' | 'info' | 'warn' | 'error', () => void>;
}) => Queue;

stopKafkajsIdleLoop();
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];
afterEach(() => queues.splice(0).forEach((queue) => queue.destroy()));

function queue(maxInFlightRequests: number) {
  const made = new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: quiet,
  });
  queues.push(made);
  const sent: number[] = [];
  const push = (correlationId: number) =>
    made.push({
      entry: { correlationId, apiName: 'Fetch', resolve() {}, reject() {} },
      expectResponse: true,
      sendRequest: () => sent.push(correlationId),
    });
  const answer = (correlationId: number) => made.fulfillRequest({ correlationId, payload: Buffer.alloc(0), size: 0 });
  return { queue: made, sent, push, answer };
}

describe('kafkajs request queue', () => {
  it('does no work while nothing is queued (kafkajs 2.2.4 re-checked every millisecond, forever)', async () => {
    const { queue: idle, push, answer } = queue(1);
    push(1);
    answer(1);
    let checks = 0;
    const check = idle.checkPendingRequests.bind(idle);
    idle.checkPendingRequests = () => {
      checks++;
      check();
    };
    await sleep(200);
    assert.equal(checks, 0, 'the idle queue kept checking for pending requests');
  });

  it('sends a request queued behind the in-flight limit as soon as one is answered', () => {
    const { sent, push, answer } = queue(1);
    push(1);
    push(2);
    assert.deepEqual(sent, [1]);
    answer(1);
    assert.deepEqual(sent, [1, 2]);
  });

  it('sends a request queued during broker throttling once the throttle ends', async () => {
    const { queue: throttled, sent, push } = queue(10);
    throttled.maybeThrottle(100);
    push(1);
    assert.deepEqual(sent, []);
    await eventually(() => sent.length > 0, 5_000, 'the queued request to be sent');
    assert.deepEqual(sent, [1]);
  });
});
