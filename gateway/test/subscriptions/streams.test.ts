import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FormattedExecutionResult } from 'graphql';
import { createLogger } from '@storefront/platform/logger';
import type { Admission } from '../../src/subscriptions/admission.ts';
import { openFederatedStream } from '../../src/subscriptions/federated-stream.ts';
import { createPushQueue } from '@storefront/platform/streams';
import type { SubgraphConnection, UpstreamOperation, UpstreamSink } from '../../src/subscriptions/upstream-client.ts';
import { UpstreamHub, type UpstreamListener } from '../../src/subscriptions/upstream-hub.ts';

/** The in-process parts of subscriptions: the client-side queue, the sharing of upstream operations, backpressure. */

describe('push queue', () => {
  it('return() settles a waiting next() at once and runs onReturn once', async () => {
    let returned = 0;
    const queue = createPushQueue<number>({ capacity: 10, onReturn: () => returned++ });
    const waiting = queue.next();
    await queue.return();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    await queue.return();
    assert.equal(returned, 1);
    assert.equal(queue.push(1), true, 'pushing after return is ignored, not refused');
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  it('delivers buffered values before ending, refuses beyond capacity, and queues the last value regardless', async () => {
    const queue = createPushQueue<number>({ capacity: 2 });
    assert.equal(queue.push(1), true);
    assert.equal(queue.push(2), true);
    assert.equal(queue.push(3), false);
    queue.end(99);
    const values = [];
    for await (const value of queue) values.push(value);
    assert.deepEqual(values, [1, 2, 99]);
  });
});

/** A stand-in for the per-subgraph connection: records operations and lets the test play the subgraph. */
function fakeConnection() {
  const operations: { operation: UpstreamOperation; sink: UpstreamSink; stopped: boolean }[] = [];
  const connection = {
    subscribe(operation: UpstreamOperation, sink: UpstreamSink) {
      const entry = { operation, sink, stopped: false };
      operations.push(entry);
      return () => void (entry.stopped = true);
    },
  } as unknown as SubgraphConnection;
  return { connection, operations, open: () => operations.filter((o) => !o.stopped) };
}

function recorder(): UpstreamListener & { events: unknown[]; ended: unknown[] } {
  const events: unknown[] = [];
  const ended: unknown[] = [];
  return { events, ended, next: (e) => void events.push(e), end: (f) => void ended.push(f ?? 'complete') };
}

const op = (userId: string | null, variables: Record<string, unknown> = { id: '1' }): UpstreamOperation => ({
  subgraph: 'orders',
  query: 'subscription($id:ID!){orderStatusChanged(orderId:$id){id}}',
  variables,
  identity: userId ? { userId, role: 'CUSTOMER' } : null,
});

describe('upstream hub', () => {
  it('shares one upstream operation between identical subscriptions and ends it when the last one leaves', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    const [a, b] = [recorder(), recorder()];
    const leaveA = hub.join(op('u1'), a);
    const leaveB = hub.join(op('u1', { id: '1' }), b);
    assert.equal(upstream.operations.length, 1);
    assert.deepEqual(hub.counts(), { orders: 1 });

    upstream.operations[0]!.sink.next({ data: { n: 1 } });
    assert.deepEqual([a.events, b.events], [[{ data: { n: 1 } }], [{ data: { n: 1 } }]]);
    leaveA();
    leaveA(); // idempotent
    assert.equal(upstream.open().length, 1, 'still needed by b');
    leaveB();
    assert.equal(upstream.open().length, 0, 'disposed the moment the last listener left');
    assert.deepEqual(hub.counts(), {});
  });

  it('never merges different identities or variables', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    hub.join(op('u1'), recorder());
    hub.join(op('u2'), recorder());
    hub.join(op(null), recorder());
    hub.join(op('u1', { id: '2' }), recorder());
    assert.equal(upstream.operations.length, 4);
  });

  it('lets a newcomer join only until the first event (a resumable stream replays at its start)', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    const first = recorder();
    hub.join(op('u1'), first);
    upstream.operations[0]!.sink.next({ data: { replayed: true } });
    const late = recorder();
    hub.join(op('u1'), late);
    assert.equal(upstream.operations.length, 2, 'the late subscriber got an upstream operation of its own');
    assert.deepEqual(hub.counts(), { orders: 2 });
  });

  it('ends every listener when the upstream fails or completes', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    const [a, b] = [recorder(), recorder()];
    hub.join(op('u1'), a);
    hub.join(op('u1'), b);
    upstream.operations[0]!.sink.fail({ kind: 'interrupted' });
    assert.deepEqual([a.ended, b.ended], [[{ kind: 'interrupted' }], [{ kind: 'interrupted' }]]);
    assert.deepEqual(hub.counts(), {});
    const c = recorder();
    hub.join(op('u1'), c);
    assert.equal(upstream.operations.length, 2, 'a new subscription after the failure opens a new upstream');
  });

  it('subscribes again from the last resume point when a resumable operation is interrupted; the listener sees one stream', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    const listener = recorder();
    hub.join(
      {
        ...op('u1', { id: '1', after: 1 }),
        query: 'subscription($id:ID!,$after:Int){orderStatusChanged(orderId:$id,after:$after){id}}',
      },
      listener,
    );
    upstream.operations[0]!.sink.next({ data: { n: 2 }, extensions: { resume: { after: 2 } } });
    upstream.operations[0]!.sink.fail({ kind: 'interrupted' });

    assert.equal(upstream.operations.length, 2, 'subscribed again');
    assert.deepEqual(
      upstream.operations[1]!.operation.variables,
      { id: '1', after: 2 },
      'from just after the last event',
    );
    assert.deepEqual(upstream.operations[1]!.operation.identity, { userId: 'u1', role: 'CUSTOMER' });
    upstream.operations[1]!.sink.next({ data: { n: 3 }, extensions: { resume: { after: 3 } } });
    assert.deepEqual(
      listener.events.map((e) => (e as { data: unknown }).data),
      [{ n: 2 }, { n: 3 }],
    );
    assert.deepEqual(listener.ended, []);
    assert.deepEqual(hub.counts(), { orders: 1 });

    // Dropped again and again with no event in between: after three tries the listener is told.
    for (let i = 1; i <= 4; i++) upstream.operations.at(-1)!.sink.fail({ kind: 'interrupted' });
    assert.equal(upstream.operations.length, 5);
    assert.deepEqual(listener.ended, [{ kind: 'interrupted' }]);
  });

  it('ends an interrupted operation whose events gave no resume point', () => {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    const listener = recorder();
    hub.join(op('u1'), listener);
    upstream.operations[0]!.sink.next({ data: { n: 1 } });
    upstream.operations[0]!.sink.fail({ kind: 'interrupted' });
    assert.equal(upstream.operations.length, 1);
    assert.deepEqual(listener.ended, [{ kind: 'interrupted' }]);
  });

  it('sends an operation its instance never received to the next instance, a bounded number of times', () => {
    const instances = Array.from({ length: 6 }, () => fakeConnection());
    let picks = 0;
    const hub = new UpstreamHub(() => instances[picks++]!.connection);
    const listener = recorder();
    const leave = hub.join(op('u1'), listener);
    instances[0]!.operations[0]!.sink.fail({ kind: 'unreachable', reason: 'could not connect' });
    assert.equal(instances[1]!.operations.length, 1, 'sent again, to the next instance picked');
    assert.deepEqual(listener.ended, [], 'the subscriber saw nothing of it');
    instances[1]!.operations[0]!.sink.next({ data: { n: 1 } });
    assert.deepEqual(listener.events, [{ data: { n: 1 } }]);
    leave();
    assert.equal(instances[1]!.open().length, 0, 'leaving stops the operation where it runs now');

    // Every instance unreachable: after the first try and three more, the subscriber hears the subgraph is unavailable.
    const stuck = recorder();
    hub.join(op('u2'), stuck);
    for (let i = 2; i < instances.length; i++)
      instances[i]!.operations[0]!.sink.fail({ kind: 'unreachable', reason: 'could not connect' });
    assert.equal(picks, 6);
    assert.deepEqual(stuck.ended, [{ kind: 'unavailable', reason: 'could not connect' }]);
    assert.deepEqual(hub.counts(), {});
  });
});

describe('federated stream', () => {
  const admission = {
    plan: {
      primary: { kind: 'Fetch', serviceName: 'orders', variableUsages: ['id'], operation: '' },
      upstreamQuery: 'subscription{x}',
    },
    requestContext: {
      request: { variables: { id: '1', unused: true } },
      context: {
        identity: { userId: 'u1', role: 'CUSTOMER' },
        logger: createLogger({ name: 'test', level: 'silent' }),
      },
    },
  } as unknown as Admission;
  const formatError = (e: unknown) => e as never;

  function open(capacity: number) {
    const upstream = fakeConnection();
    const hub = new UpstreamHub(() => upstream.connection);
    let ends = 0;
    const executed: FormattedExecutionResult[] = [];
    const stream = openFederatedStream({
      admission,
      hub,
      capacity,
      formatError,
      execute: async (_admission, event) => (executed.push(event), { data: { completed: event.data } }),
      onEnd: () => ends++,
    });
    return { stream, upstream, hub, executed, ends: () => ends };
  }

  it('subscribes upstream with the primary fetch’s variables and the subscriber’s identity, and completes each event', async () => {
    const { stream, upstream } = open(10);
    assert.deepEqual(upstream.operations[0]!.operation, {
      subgraph: 'orders',
      query: 'subscription{x}',
      variables: { id: '1' },
      identity: { userId: 'u1', role: 'CUSTOMER' },
    });
    upstream.operations[0]!.sink.next({ data: { n: 1 } });
    assert.deepEqual(await stream.next(), { value: { data: { completed: { n: 1 } } }, done: false });
  });

  it('leaves the upstream at once when the client stops, even while waiting for an event', async () => {
    const { stream, upstream, ends } = open(10);
    const waiting = stream.next();
    await stream.return!();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.equal(upstream.open().length, 0);
    assert.equal(ends(), 1);
  });

  it('ends a subscription that falls behind with SUBSCRIPTION_INTERRUPTED instead of dropping events silently', async () => {
    const { stream, upstream, executed, ends } = open(2);
    for (let n = 1; n <= 3; n++) upstream.operations[0]!.sink.next({ data: { n } });
    assert.equal(upstream.open().length, 0, 'the upstream is released when the buffer overflows');
    const first = await stream.next();
    assert.equal((first.value as FormattedExecutionResult).errors?.[0]?.extensions?.code, 'SUBSCRIPTION_INTERRUPTED');
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
    assert.equal(executed.length, 0, 'the buffered events were dropped: the client resumes from its last one');
    assert.equal(ends(), 1);
  });

  it('reports a lost upstream connection after the events that came before it', async () => {
    const { stream, upstream } = open(10);
    upstream.operations[0]!.sink.next({ data: { n: 1 } });
    upstream.operations[0]!.sink.fail({ kind: 'interrupted' });
    assert.deepEqual((await stream.next()).value, { data: { completed: { n: 1 } } });
    const last = (await stream.next()).value as FormattedExecutionResult;
    assert.equal(last.errors?.[0]?.extensions?.code, 'SUBSCRIPTION_INTERRUPTED');
    assert.equal(last.errors?.[0]?.extensions?.serviceName, 'orders');
    assert.equal((await stream.next()).done, true);
  });
});
