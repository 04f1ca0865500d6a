import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { RunningGateway } from '@storefront/gateway';
import { DEV_SUBGRAPH_SECRET } from '@storefront/platform/config';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Persisted documents the way apps send them: `{ documentId }` bodies (the
 * GraphQL-over-HTTP persisted-documents form), and GET requests by
 * `documentId` or APQ hash, which a CDN can cache. GET stays CSRF-safe
 * (Apollo's preflight rule) and never runs a mutation; what the server cannot
 * answer is refused with a status and a code, and the gateway stays up.
 */
const MANIFEST = 'clients/generated/trusted-documents.json';
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
const idOf = (prefix: string) => Object.entries(manifest).find(([, text]) => text.startsWith(prefix))![0];
const CATEGORIES = idOf('query Categories');
const LOG_IN = idOf('mutation LogIn');

type Reply = { status: number; headers: Headers; body: any };
const call = async (url: string, init: RequestInit = {}): Promise<Reply> => {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
};
const code = (reply: Reply) => reply.body?.errors?.[0]?.extensions?.code;
/** What Apollo Client sends with a GET: a header no cross-site form can set (CSRF prevention). */
const PREFLIGHTED = { 'apollo-require-preflight': 'true' };

describe('persisted documents by id, over POST and GET', { timeout: 180_000 }, () => {
  let stack: Stack;
  let gateway: RunningGateway;
  const get = (search: string, headers: Record<string, string> = PREFLIGHTED) =>
    call(`${gateway.url}?${search}`, { headers });

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    gateway = await stack.startGateway({ TRUSTED_DOCUMENTS: MANIFEST });
  });
  after(async () => {
    await stack?.stop();
  });

  it('runs a { documentId } body, with or without the sha256: prefix', async () => {
    for (const documentId of [`sha256:${CATEGORIES}`, CATEGORIES]) {
      const reply = await call(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ documentId }),
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.ok(reply.body.data.categories.length > 0);
    }
  });

  it('runs a persisted query as GET, by documentId and by APQ hash', async () => {
    const byId = await get(`documentId=sha256:${CATEGORIES}`);
    assert.equal(byId.status, 200, JSON.stringify(byId.body));
    assert.ok(byId.body.data.categories.length > 0);
    const extensions = JSON.stringify({ persistedQuery: { version: 1, sha256Hash: CATEGORIES } });
    const byHash = await get(`extensions=${encodeURIComponent(extensions)}`);
    assert.deepEqual(byHash.body, byId.body);
  });

  it('refuses what it cannot serve, with a status and a code, and stays healthy', async () => {
    // 200 as the APQ protocol has it (clients then send the text), and never stored by a cache.
    const unknown = await get(`documentId=sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 200);
    assert.equal(code(unknown), 'PERSISTED_QUERY_NOT_FOUND');
    assert.match(unknown.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(unknown.body.data, undefined);

    const notSha = await get('documentId=md5:abc');
    assert.equal(notSha.status, 400);
    assert.equal(code(notSha), 'BAD_REQUEST');

    const both = await call(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: CATEGORIES, query: '{ categories { id } }' }),
    });
    assert.equal(both.status, 400);
    assert.equal(code(both), 'BAD_REQUEST');

    // A mutation is never run by GET, persisted or not.
    const variables = encodeURIComponent(JSON.stringify({ email: 'customer@storefront.local', password: 'x' }));
    const mutation = await get(`documentId=${LOG_IN}&variables=${variables}`);
    assert.equal(mutation.status, 405);
    assert.equal(code(mutation), 'BAD_REQUEST');

    // A GET without a header a cross-site page cannot send is refused (CSRF prevention).
    const simple = await get(`documentId=${CATEGORIES}`, {});
    assert.equal(simple.status, 400);
    assert.equal(code(simple), 'BAD_REQUEST');
    assert.match(simple.body.errors[0].message, /Cross-Site Request Forgery/);

    // An Accept the server does not speak.
    const xml = await call(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/xml' },
      body: JSON.stringify({ documentId: CATEGORIES }),
    });
    assert.equal(xml.status, 406);
    assert.equal(code(xml), 'BAD_REQUEST');

    assert.equal((await fetch(new URL('/healthz', gateway.url))).status, 200);
  });
});

describe('the browser edge: CORS for Apollo Client, GraphiQL switches', { timeout: 180_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it("lets a browser app send Apollo Client's name and version headers", async () => {
    const gateway = await stack.startGateway({ CORS_ORIGINS: 'https://shop.example' });
    const preflight = await fetch(gateway.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,apollographql-client-name,apollographql-client-version',
      },
    });
    assert.equal(preflight.status, 204);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    for (const header of ['content-type', 'apollographql-client-name', 'apollographql-client-version'])
      assert.ok(allowed.includes(header), `${header} allowed`);
  });

  it('serves no GraphiQL in production unless switched on, and never instead of JSON', async () => {
    const html = { accept: 'text/html,application/xhtml+xml' };
    const production = {
      NODE_ENV: 'production',
      SUBGRAPH_SECRET: stack.env.SUBGRAPH_SECRET ?? DEV_SUBGRAPH_SECRET,
    };
    const off = await stack.startGateway(production);
    const page = await fetch(off.url, { headers: html });
    assert.ok(!(page.headers.get('content-type') ?? '').includes('text/html'), 'no page in production by default');
    assert.equal((await fetch(new URL('/', off.url), { redirect: 'manual' })).status, 404);

    const on = await stack.startGateway({ ...production, GRAPHIQL: 'true' });
    const shown = await fetch(on.url, { headers: html });
    assert.equal(shown.status, 200);
    assert.match(shown.headers.get('content-type') ?? '', /text\/html/);
    const body = await shown.text();
    assert.match(body, /"introspection":false/, 'no schema explorer without introspection');
    assert.ok(!body.includes('customer-password-1'), 'no demo credentials in production');
    const script = /src="(\/graphiql\/[^"]+\.js)"/.exec(body)![1]!;
    const asset = await fetch(new URL(script, on.url));
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(new URL('/graphiql/../package.json', on.url))).status, 404);
  });
});
