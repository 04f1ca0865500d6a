import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '@storefront/gateway';
import { eventually } from '@storefront/platform/testing';
import { signAccessToken } from '../support/gateway-socket.ts';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Subscriptions over HTTP at the wire: Apollo's multipart protocol (its
 * heartbeats, its transport errors) and GraphQL over SSE, on the same
 * authorization and limits as the WebSocket's: another customer's order is
 * refused, a caller's open streams are bounded, a stream ends when its
 * token expires, and leaving releases everything upstream.
 */
const TRACK = `subscription($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, after: $after) { id status version } }`;
const MULTIPART = 'multipart/mixed;subscriptionSpec="1.0",application/json';

/** An open streamed response, read as text as it arrives. */
interface OpenStream {
  status: number;
  headers: Headers;
  /** Everything received so far. */
  text(): string;
  /** Resolves when the server ended the response. */
  ended: Promise<void>;
  abort(): void;
}

async function openStream(url: string, accept: string, body: unknown, token?: string): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    signal: controller.signal,
    headers: {
      'content-type': 'application/json',
      accept,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  let received = '';
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for await (const chunk of res.body!) received += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch {
      // aborted by the test
    }
  })();
  return { status: res.status, headers: res.headers, text: () => received, ended, abort: () => controller.abort() };
}

/** The JSON parts of a multipart body (heartbeats included). */
const parts = (text: string) =>
  text
    .split('\r\n--graphql')
    .map((part) => part.split('\r\n\r\n')[1])
    .filter((json): json is string => json !== undefined && json.trim() !== '')
    .map((json) => JSON.parse(json) as { payload?: any; errors?: any[] });

describe('subscriptions over HTTP at the wire', { timeout: 300_000 }, () => {
  let stack: Stack;
  let gateway: RunningGateway;
  let journey: OrderJourney;
  let owner: { token: string; userId: string };
  let stranger: { token: string; userId: string };
  const streams: OpenStream[] = [];
  const open = async (...args: Parameters<typeof openStream>) => {
    const stream = await openStream(...args);
    streams.push(stream);
    return stream;
  };

  const closeAll = async () => {
    for (const stream of streams.splice(0)) stream.abort();
    await eventually(() => gateway.subscriptions.clientSubscriptions() === 0, 15_000, 'every stream to be closed');
  };

  before(async () => {
    stack = await startStack();
    journey = await prepareOrderJourney(stack);
    gateway = await stack.startGateway({ MULTIPART_HEARTBEAT_MS: '200', HTTP_MAX_STREAMS_PER_CALLER: '2' });
    owner = await stack.signUp('Olive Owner');
    stranger = await stack.signUp('Sam Stranger');
  });
  after(async () => {
    for (const stream of streams) stream.abort();
    await stack?.stop();
  });

  it('multipart: heartbeats, events as payloads, and everything released when the client leaves', async () => {
    const orderId = await journey.place(owner.token);
    const stream = await open(
      gateway.url,
      MULTIPART,
      { query: TRACK, variables: { id: orderId, after: 0 } },
      owner.token,
    );
    assert.equal(stream.status, 200);
    assert.match(
      stream.headers.get('content-type') ?? '',
      /^multipart\/mixed;\s*boundary="graphql";\s*subscriptionSpec="1.0"/,
    );
    await eventually(
      () => parts(stream.text()).filter((p) => p.payload === undefined && !p.errors).length >= 3,
      15_000,
      'heartbeats',
    );
    await eventually(
      () => parts(stream.text()).some((p) => p.payload?.data?.orderStatusChanged?.status === 'CONFIRMED'),
      60_000,
      'CONFIRMED as a payload',
    );
    assert.equal(gateway.subscriptions.clientSubscriptions(), 1);
    stream.abort();
    await eventually(
      () =>
        gateway.subscriptions.clientSubscriptions() === 0 &&
        Object.keys(gateway.subscriptions.upstreamSubscriptions()).length === 0,
      15_000,
      'the subscription to be released upstream',
    );
  });

  it("refuses another customer's order, over multipart and SSE alike", async () => {
    const orderId = await journey.place(owner.token);
    const multipart = await open(gateway.url, MULTIPART, { query: TRACK, variables: { id: orderId } }, stranger.token);
    await multipart.ended;
    const refusal = parts(multipart.text()).find((p) => p.errors);
    assert.equal(refusal?.payload, null);
    assert.equal(refusal?.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.ok(multipart.text().endsWith('\r\n--graphql--\r\n'), 'closing boundary');

    const sse = await open(
      gateway.url,
      'text/event-stream',
      { query: TRACK, variables: { id: orderId } },
      stranger.token,
    );
    await sse.ended;
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    const next = /event: next\ndata: (.*)\n/.exec(sse.text());
    assert.equal(JSON.parse(next![1]!).errors[0].extensions.code, 'FORBIDDEN');
    assert.match(sse.text(), /event: complete/);
  });

  it('bounds the streams one caller holds open, over both protocols', async () => {
    const orderId = await journey.place(owner.token);
    const body = { query: TRACK, variables: { id: orderId } };
    const first = await open(gateway.url, MULTIPART, body, owner.token);
    const second = await open(gateway.url, 'text/event-stream', body, owner.token);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    for (const accept of [MULTIPART, 'text/event-stream']) {
      const third = await open(gateway.url, accept, body, owner.token);
      assert.equal(third.status, 429, accept);
      await third.ended;
      assert.equal(JSON.parse(third.text()).errors[0].extensions.code, 'TOO_MANY_OPERATIONS');
    }
    // Another caller is not affected, and leaving frees a place.
    const admin = await open(gateway.url, MULTIPART, body, journey.admin);
    assert.equal(admin.status, 200);
    first.abort();
    await eventually(
      async () => {
        const again = await open(gateway.url, MULTIPART, body, owner.token);
        if (again.status !== 200) await again.ended;
        return again.status === 200;
      },
      15_000,
      'a place to be freed',
    );
    await closeAll();
  });

  it('ends a stream with UNAUTHENTICATED when its access token expires', async () => {
    const orderId = await journey.place(owner.token);
    const shortLived = await signAccessToken(stack, { userId: owner.userId }, 3);
    const stream = await open(gateway.url, MULTIPART, { query: TRACK, variables: { id: orderId } }, shortLived);
    assert.equal(stream.status, 200);
    await stream.ended;
    // A heartbeat may follow it before the stream closes.
    const refusal = parts(stream.text()).find((p) => p.errors);
    assert.equal(refusal?.payload, null);
    assert.equal(refusal?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.ok(stream.text().endsWith('\r\n--graphql--\r\n'), 'the stream is closed');
  });

  it('says where subscriptions are served when one comes as a plain POST, and refuses bad SSE requests with a code', async () => {
    const plain = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: TRACK, variables: { id: 'x' } }),
    });
    const refusal = (await plain.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(plain.status, 400);
    assert.equal(refusal.errors[0]!.extensions.code, 'BAD_REQUEST');
    assert.match(refusal.errors[0]!.message, /text\/event-stream/);

    const noQuery = await open(gateway.url, 'text/event-stream', { variables: {} }, owner.token);
    await noQuery.ended;
    assert.equal(noQuery.status, 400);
    assert.equal(JSON.parse(noQuery.text()).errors[0].extensions.code, 'BAD_REQUEST');

    const invalid = await open(gateway.url, 'text/event-stream', { query: 'subscription { nope }' }, owner.token);
    await invalid.ended;
    assert.equal(invalid.status, 400);
    assert.equal(JSON.parse(invalid.text()).errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
    assert.equal((await fetch(new URL('/healthz', gateway.url))).status, 200);
  });
});
