import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
