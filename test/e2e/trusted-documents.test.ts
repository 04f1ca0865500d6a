import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Trusted documents: the apps' operations, hashed by `npm run codegen`, run
 * by hash from memory; in persisted-only mode (mobile builds) nothing else runs.
 */
const MANIFEST = 'clients/generated/trusted-documents.json';
const documents = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
const [catalogHash, catalogText] = Object.entries(documents).find(([, text]) => /^query Categories\b/.test(text))!;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const post = async (stack: Stack, body: unknown) => {
  const res = await fetch(stack.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    ...((await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] }),
  };
};
const byHash = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });

describe('trusted documents', { timeout: 180_000 }, () => {
  let open: Stack;
  let locked: Stack;
  before(async () => {
    open = await startStack({ gatewayEnv: { TRUSTED_DOCUMENTS: MANIFEST } });
    locked = await startStack({ gatewayEnv: { TRUSTED_DOCUMENTS: MANIFEST, PERSISTED_ONLY: 'true' } });
    await open.services.products.seed();
    await locked.services.products.seed();
  });
  after(async () => {
    await open?.stop();
    await locked?.stop();
  });

  it('the manifest hashes are the sha256 of their text', () => {
    for (const [hash, text] of Object.entries(documents)) assert.equal(sha256(text), hash);
  });

  it('runs a trusted operation by hash alone, with no registration round trip', async () => {
    const res = await post(open, byHash(catalogHash));
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.ok(res.data.categories.length > 0);
  });

  it('in persisted-only mode runs trusted operations, by hash or by text', async () => {
    assert.ok((await post(locked, byHash(catalogHash))).data?.categories.length);
    assert.ok((await post(locked, { query: catalogText })).data?.categories.length);
  });

  it('in persisted-only mode refuses any other operation, and refuses to register new ones', async () => {
    const adHoc = await post(locked, { query: '{ categories { id } }' });
    assert.equal(adHoc.status, 400);
    assert.equal(adHoc.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_REQUIRED');
    const query = '{ categories { name } }';
    const register = await post(locked, { query, ...byHash(sha256(query)) });
    assert.equal(register.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_REQUIRED');
    const replay = await post(locked, byHash(sha256(query)));
    assert.equal(replay.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
  });

  it('outside persisted-only mode still accepts ad-hoc operations and APQ registration', async () => {
    const query = '{ categories { id } }';
    assert.ok((await post(open, { query, ...byHash(sha256(query)) })).data?.categories);
    assert.ok((await post(open, byHash(sha256(query)))).data?.categories);
  });
});
