import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { buildSchema, GraphQLError, parse, validate, type FormattedExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import {
  verifyConnection,
  verifySubscription,
  type SignedSubscription,
  type Identity,
} from '@storefront/platform/auth';
import { createLogger } from '@storefront/platform/logger';
import { eventually } from '@storefront/platform/testing';
import { createPushQueue, type PushQueue } from '@storefront/platform/streams';
import {
  SubgraphConnection,
  type UpstreamFailure,
  type UpstreamSink,
} from '../../src/subscriptions/upstream-client.ts';

/**
 * The gateway's connection to one subgraph, against a small graphql-ws
 * server that checks signatures as the real subgraphs do
 * (packages/platform/src/auth/gateway-signature.ts).
 */
const SECRET = 'upstream-client-test-secret-0123';
const QUERY = 'subscription { ticks }';

interface TestSubgraph {
  url: string;
  /** Identities of the operations open now, as verified from their signatures. */
  open(): (Identity | null)[];
  sockets(): number;
  emit(n: number): void;
  /** Drops every socket without a close handshake (a crashed subgraph, a cut network). */
  cut(): void;
  close(): Promise<void>;
}

async function startTestSubgraph(port = 0): Promise<TestSubgraph> {
  const schema = buildSchema('type Query { _: Boolean } type Subscription { ticks: Int! }');
  const streams = new Map<PushQueue<{ ticks: number }>, Identity | null>();
  const server: Server = createServer();
  const wss = new WebSocketServer({ server });
  useServer(
    {
      schema,
      onConnect: (ctx) => verifyConnection(SECRET, ctx.connectionParams),
      onSubscribe: (_ctx, _id, payload) => {
        const check = verifySubscription(
          SECRET,
          payload,
          payload.extensions?.storefront as Partial<SignedSubscription>,
        );
        if (!check.ok)
          return [new GraphQLError(`unsigned (${check.reason})`, { extensions: { code: 'UNAUTHENTICATED' } })];
        const document = parse(payload.query);
        const invalid = validate(schema, document);
        if (invalid.length) return invalid;
        const stream = createPushQueue<{ ticks: number }>({ capacity: 100, onReturn: () => streams.delete(stream) });
        streams.set(stream, check.identity);
        return { schema, document, rootValue: { ticks: () => stream } };
      },
    },
    wss,
    0,
  );
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    open: () => [...streams.values()],
    sockets: () => wss.clients.size,
    emit: (n) => streams.forEach((_, stream) => stream.push({ ticks: n })),
    cut: () => wss.clients.forEach((ws) => ws.terminate()),
    close: async () => {
      wss.clients.forEach((ws) => ws.terminate());
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function sink() {
  const events: FormattedExecutionResult[] = [];
  const failures: UpstreamFailure[] = [];
  let completed = false;
  const recorded: UpstreamSink & { events: typeof events; failures: typeof failures; completed: () => boolean } = {
    events,
    failures,
    completed: () => completed,
    next: (e) => void events.push(e),
    fail: (f) => void failures.push(f),
    complete: () => void (completed = true),
  };
  return recorded;
}

const logger = createLogger({ name: 'test', level: 'silent' });
const alice: Identity = { userId: 'alice', role: 'CUSTOMER' };
const bob: Identity = { userId: 'bob', role: 'STAFF' };

describe('upstream connection to a subgraph', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const connect = (subgraph: { url: string }, retryAttempts = 3) => {
    const connection = new SubgraphConnection({
      name: 'ticks',
      url: subgraph.url,
      secret: SECRET,
      keepAliveMs: 10_000,
      retryAttempts,
      logger,
    });
    cleanup.push(() => connection.close());
    return connection;
  };

  it('carries many callers’ operations over one signed socket, each signed with its own identity', async () => {
    const subgraph = await startTestSubgraph();
    cleanup.push(() => subgraph.close());
    const connection = connect(subgraph);
    const [a, b, anonymous] = [sink(), sink(), sink()];
    const stops = [
      connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: alice }, a),
      connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: bob }, b),
      connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: null }, anonymous),
    ];
    await eventually(() => subgraph.open().length === 3, 5_000, 'three operations on the subgraph');
    assert.equal(subgraph.sockets(), 1);
    assert.deepEqual(new Set(subgraph.open().map((i) => i?.userId ?? null)), new Set(['alice', 'bob', null]));

    subgraph.emit(7);
    await eventually(
      () => [a, b, anonymous].every((s) => s.events.length === 1),
      5_000,
      'the event on every operation',
    );
    assert.deepEqual(a.events[0], { data: { ticks: 7 } });

    stops[0]!();
    await eventually(() => subgraph.open().length === 2, 5_000, 'the operation to end on the subgraph');
    stops[1]!();
    stops[2]!();
    await eventually(
      () => subgraph.open().length === 0 && subgraph.sockets() === 0,
      5_000,
      'the socket to close with its last operation',
    );
    assert.equal(connection.size, 0);
  });

  it('ends the operations running on a dropped connection as interrupted, and serves new ones on a new connection', async () => {
    const subgraph = await startTestSubgraph();
    cleanup.push(() => subgraph.close());
    const connection = connect(subgraph);
    const running = sink();
    connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: alice }, running);
    await eventually(() => subgraph.open().length === 1, 5_000, 'the operation on the subgraph');

    subgraph.cut();
    await eventually(() => running.failures.length === 1, 5_000, 'the operation to be reported interrupted');
    assert.deepEqual(running.failures, [{ kind: 'interrupted' }]);
    subgraph.emit(1);
    assert.equal(running.events.length, 0);
    assert.equal(connection.size, 0);

    const later = sink();
    connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: alice }, later);
    await eventually(() => subgraph.open().length === 1, 5_000, 'a new operation on a new connection');
    subgraph.emit(2);
    await eventually(() => later.events.length === 1, 5_000, 'the event');
    assert.equal(running.events.length, 0, 'the interrupted operation was not resent');
  });

  it('waits for a subgraph that is not up yet, retrying with backoff', async () => {
    const placeholder = await startTestSubgraph();
    const { port } = new URL(placeholder.url);
    await placeholder.close(); // a port that refuses connections, for now
    const connection = connect({ url: `http://127.0.0.1:${port}/graphql` }, 10);
    const waiting = sink();
    connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: bob }, waiting);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const subgraph = await startTestSubgraph(Number(port));
    cleanup.push(() => subgraph.close());
    await eventually(() => subgraph.open().length === 1, 15_000, 'the operation once the subgraph is up');
    assert.deepEqual(subgraph.open(), [bob], 'signed when sent, so the signature is fresh');
    assert.deepEqual(waiting.failures, []);
  });

  it('fails waiting operations as unavailable after the configured attempts', async () => {
    const placeholder = await startTestSubgraph();
    const url = placeholder.url;
    await placeholder.close();
    const connection = connect({ url }, 1);
    const waiting = sink();
    connection.subscribe({ subgraph: 'ticks', query: QUERY, variables: {}, identity: alice }, waiting);
    await eventually(() => waiting.failures.length === 1, 10_000, 'the operation to fail');
    assert.equal(waiting.failures[0]!.kind, 'unavailable');
    assert.equal(connection.size, 0);
  });

  it('passes on a refusal of the subgraph (an `error` message) as errors', async () => {
    const subgraph = await startTestSubgraph();
    cleanup.push(() => subgraph.close());
    const connection = new SubgraphConnection({
      name: 'ticks',
      url: subgraph.url,
      secret: SECRET,
      keepAliveMs: 10_000,
      retryAttempts: 0,
      logger,
    });
    cleanup.push(() => connection.close());
    const refused = sink();
    // A query the subgraph rejects at validation.
    connection.subscribe(
      { subgraph: 'ticks', query: 'subscription { nope }', variables: {}, identity: alice },
      refused,
    );
    await eventually(() => refused.failures.length === 1, 5_000, 'the refusal');
    assert.equal(refused.failures[0]!.kind, 'errors');
  });
});
