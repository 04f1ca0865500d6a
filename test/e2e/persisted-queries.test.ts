import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Automatic persisted queries: a client sends the sha256 of its operation;
 * on PERSISTED_QUERY_NOT_FOUND it sends the text once with the hash, and from
 * then on the hash alone. Registrations live in Redis (with an in-process
 * level in front), so a hash registered through one gateway instance is
 * known to every instance sharing the store; a persisted-only instance still
 * runs nothing but its trusted documents, whatever the store holds.
 */
const MANIFEST = 'clients/generated/trusted-documents.json';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type Reply = { status: number; data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
const post = async (url: string, body: unknown): Promise<Reply> => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, ...((await res.json()) as object) };
};
const persisted = (hash: unknown) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
// A text of its own per test, so no test finds another's registration.
const uniqueQuery = () => `query Apq_${randomUUID().replaceAll('-', '')} { categories { id name } }`;

describe('automatic persisted queries', { timeout: 180_000 }, () => {
  let stack: Stack;
  /** Another gateway instance on the same subgraphs and the same Redis (REDIS_URL and key prefix of the stack). */
  const anotherGateway = (env: Record<string, string> = {}) => stack.startGateway(env);

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
  });
  after(async () => {
    await stack?.stop();
  });

  it('asks for an unknown hash, registers it with its text, then runs it by hash alone', async () => {
    const query = uniqueQuery();
    const hash = sha256(query);
    const unknown = await post(stack.gateway.url, persisted(hash));
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(unknown.data, undefined);

    const registered = await post(stack.gateway.url, { query, ...persisted(hash) });
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    assert.ok(registered.data.categories.length > 0);

    const byHash = await post(stack.gateway.url, persisted(hash));
    assert.equal(byHash.errors, undefined, JSON.stringify(byHash.errors));
    assert.deepEqual(byHash.data, registered.data);
  });

  // Without REDIS_URL each instance has a store of its own (the embedded default): nothing to share.
  it(
    'serves a hash registered through one instance from another instance sharing the store',
    { skip: !process.env.REDIS_URL && 'needs REDIS_URL' },
    async () => {
      const second = await anotherGateway();
      const query = uniqueQuery();
      const hash = sha256(query);
      assert.equal(
        (await post(second.url, persisted(hash))).errors?.[0]?.extensions?.code,
        'PERSISTED_QUERY_NOT_FOUND',
      );

      assert.ok((await post(stack.gateway.url, { query, ...persisted(hash) })).data?.categories);
      const there = await post(second.url, persisted(hash));
      assert.equal(there.errors, undefined, JSON.stringify(there.errors));
      assert.ok(there.data.categories.length > 0);
    },
  );

  it('a persisted-only instance on the same store runs no registered hash and registers none', async () => {
    const locked = await anotherGateway({ TRUSTED_DOCUMENTS: MANIFEST, PERSISTED_ONLY: 'true' });
    const query = uniqueQuery();
    const hash = sha256(query);
    assert.ok(
      (await post(stack.gateway.url, { query, ...persisted(hash) })).data?.categories,
      'registered through the open instance',
    );

    const replay = await post(locked.url, persisted(hash));
    assert.equal(replay.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
    const register = await post(locked.url, { query: uniqueQuery(), ...persisted(sha256('x')) });
    assert.equal(register.status, 400);
    const own = uniqueQuery();
    assert.equal(
      (await post(locked.url, { query: own, ...persisted(sha256(own)) })).errors?.[0]?.extensions?.code,
      'PERSISTED_QUERY_REQUIRED',
    );
    assert.equal(
      (await post(locked.url, persisted(sha256(own)))).errors?.[0]?.extensions?.code,
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });

  it('answers a malformed persisted-query extension with a GraphQL error and a code, never a server error', async () => {
    const query = uniqueQuery();
    const cases: [string, unknown, string][] = [
      ['hash that is not hex', persisted('not-a-hash'), 'PERSISTED_QUERY_NOT_FOUND'],
      ['hash that is not a string', persisted({ $ne: null }), 'PERSISTED_QUERY_NOT_FOUND'],
      [
        'hash that is not the text’s',
        { query, ...persisted(sha256('something else')) },
        'PERSISTED_QUERY_HASH_MISMATCH',
      ],
      [
        'unsupported version',
        { extensions: { persistedQuery: { version: 2, sha256Hash: sha256(query) } } },
        'PERSISTED_QUERY_NOT_SUPPORTED',
      ],
      [
        'extension that is not an object',
        { extensions: { persistedQuery: 'garbage' } },
        'PERSISTED_QUERY_NOT_SUPPORTED',
      ],
      ['extensions that are not an object', { query, extensions: 'garbage' }, 'BAD_REQUEST'],
    ];
    for (const [what, body, code] of cases) {
      const res = await post(stack.gateway.url, body);
      assert.equal(res.errors?.[0]?.extensions?.code, code, `${what}: ${JSON.stringify(res)}`);
      assert.ok(res.status < 500, `${what}: HTTP ${res.status}`);
    }
    // And none of them registered anything.
    assert.equal(
      (await post(stack.gateway.url, persisted(sha256(query)))).errors?.[0]?.extensions?.code,
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });
});
