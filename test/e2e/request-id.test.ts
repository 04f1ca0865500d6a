import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureLogs, freePort } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Correlation: every answer names its request (`x-request-id`), a client's
 * own id is kept when it is short and printable and replaced otherwise, and
 * every GraphQL error carries the same id in `extensions.requestId`.
 */
describe('request ids', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ embedded: true });
  });
  after(() => stack?.stop());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it('gives every answer an id, and keeps a good one from the client', async () => {
    const fresh = await post({ query: '{ categories { id } }' });
    assert.equal(fresh.status, 200);
    assert.match(fresh.headers.get('x-request-id') ?? '', UUID);

    const kept = await post({ query: '{ categories { id } }' }, { 'x-request-id': 'ios-7.1:4f2a-19' });
    assert.equal(kept.headers.get('x-request-id'), 'ios-7.1:4f2a-19');

    for (const bad of ['x'.repeat(129), 'has spaces in it', 'line\tbreak', '<script>']) {
      const replaced = await post({ query: '{ categories { id } }' }, { 'x-request-id': bad });
      assert.match(replaced.headers.get('x-request-id') ?? '', UUID, `replaces ${JSON.stringify(bad)}`);
    }

    // Answers that never reach GraphQL too: health, unknown paths, refusals.
    for (const path of ['/healthz', '/nowhere']) {
      const res = await fetch(new URL(path, stack.gateway.url));
      await res.arrayBuffer();
      assert.match(res.headers.get('x-request-id') ?? '', UUID, path);
    }
    const subgraph = await fetch(new URL('/healthz', stack.services.orders.url), {
      headers: { 'x-request-id': 'from-the-gateway-1' },
    });
    assert.equal(subgraph.headers.get('x-request-id'), 'from-the-gateway-1');
  });

  it('puts the id of the answer on every GraphQL error', async () => {
    const res = await post({ query: '{ order(id: "not-an-id") { id } }' }, { 'x-request-id': 'support-ticket-42' });
    const body = (await res.json()) as { errors?: { extensions?: { code?: string; requestId?: string } }[] };
    assert.ok(body.errors?.length, 'an error');
    for (const error of body.errors) assert.equal(error.extensions?.requestId, 'support-ticket-42');

    const invalid = await post({ query: '{ nosuchfield }' });
    const invalidBody = (await invalid.json()) as { errors: { extensions?: { requestId?: string } }[] };
    assert.equal(invalidBody.errors[0]!.extensions?.requestId, invalid.headers.get('x-request-id'));
  });
});

/**
 * Headers a client controls never reach a log line as sent when they are
 * malformed: a bad `x-request-id` is replaced, a bad `traceparent` is not
 * continued, a bad app name is dropped. Tracing is on (its collector is
 * down, which must not matter either), so the trace context is really parsed.
 */
describe('malformed correlation headers', () => {
  let stack: Stack;
  const logs = captureLogs('debug');
  before(async () => {
    stack = await startStack({
      embedded: true,
      logger: logs.logger,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`, LOG_LEVEL: 'debug' },
    });
  });
  after(() => stack?.stop());

  it('are replaced or ignored, and never written to a log as sent', async () => {
    const hostile = {
      requestIds: ['r'.repeat(5_000), '{"requestId":"forged"}', 'id with spaces and <script>'],
      traceparents: [
        `00-${'g'.repeat(32)}-${'1'.repeat(16)}-01`,
        `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`,
        `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'c'.repeat(8_000)}`,
      ],
      clientNames: ['{"name":"forged"}', 'n'.repeat(300), 'app name with spaces'],
    };
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(stack.gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': hostile.requestIds[i]!,
          traceparent: hostile.traceparents[i]!,
          'apollographql-client-name': hostile.clientNames[i]!,
          'apollographql-client-version': `v${'9'.repeat(200)}`,
        },
        body: JSON.stringify({ query: 'query Hostile { categories { id } nosuchfield }' }),
      });
      assert.equal(res.status, 400, 'answered (a validation error), not failed');
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f-]{36}$/, 'a new request id');
      const body = (await res.json()) as { errors: { extensions?: { requestId?: string } }[] };
      assert.equal(body.errors[0]!.extensions?.requestId, id);
    }
    const written = JSON.stringify(logs.records);
    assert.ok(
      logs.records.some((r) => r.access === true),
      'the requests were logged',
    );
    for (const raw of [...hostile.requestIds, ...hostile.traceparents, ...hostile.clientNames, '9'.repeat(200)])
      assert.ok(!written.includes(raw), `no log line holds ${JSON.stringify(raw.slice(0, 40))}`);
    for (const line of logs.records.filter((r) => r.access === true)) assert.equal(line.client, undefined);
  });
});
