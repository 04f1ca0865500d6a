import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, createBrotliDecompress, createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import type { RunningGateway } from '@storefront/gateway';
import { eventually } from '@storefront/platform/testing';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * What a CDN and a phone on a slow network see: public catalog answers a
 * cache may keep (Cache-Control from the subgraphs' hints, strong ETag, 304),
 * private ones it may not, and compression both ways — answers in Brotli or
 * gzip (streams flushed event by event), uploads in gzip with the size limit
 * on what they expand to.
 */
const MANIFEST = 'clients/generated/trusted-documents.json';
const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>;
const CATALOG = Object.entries(manifest).find(([, text]) => text.startsWith('query CatalogPage'))![0];
const VIEWER = Object.entries(manifest).find(([, text]) => text.startsWith('query Viewer'))![0];

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with node:http, which (unlike fetch) shows the bytes as sent: encodings are not undone. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
const json = (reply: RawReply) => JSON.parse(reply.body.toString('utf8'));
const code = (reply: RawReply) => json(reply).errors?.[0]?.extensions?.code;
const PREFLIGHTED = { 'apollo-require-preflight': 'true' };

describe('CDN-cacheable public answers and compression', { timeout: 300_000 }, () => {
  let stack: Stack;
  let gateway: RunningGateway;
  let journey: OrderJourney;
  let alice: { token: string };
  let bob: { token: string };
  const catalogUrl = () =>
    `${gateway.url}?documentId=sha256:${CATALOG}&variables=${encodeURIComponent(JSON.stringify({ first: 20 }))}`;

  before(async () => {
    stack = await startStack();
    journey = await prepareOrderJourney(stack);
    gateway = await stack.startGateway({ TRUSTED_DOCUMENTS: MANIFEST });
    alice = await stack.signUp('Alice');
    bob = await stack.signUp('Bob');
  });
  after(async () => {
    await stack?.stop();
  });

  it('marks the anonymous catalog public with a strong ETag, answers 304 to it, and keeps private answers private', async () => {
    const first = await raw(catalogUrl(), { headers: PREFLIGHTED });
    assert.equal(first.status, 200);
    assert.match(String(first.headers['cache-control']), /^public, max-age=([1-9]\d*)$/);
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[\w-]+"$/, 'a strong validator');
    assert.match(String(first.headers.vary), /authorization/i);
    assert.ok(json(first).data.products.edges.length > 0);

    const revalidated = await raw(catalogUrl(), { headers: { ...PREFLIGHTED, 'if-none-match': etag } });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.body.length, 0);
    assert.equal(revalidated.headers.etag, etag);
    const changed = await raw(catalogUrl(), { headers: { ...PREFLIGHTED, 'if-none-match': '"something-else"' } });
    assert.equal(changed.status, 200);

    // Two users: the same public query with a token, and each one's own data, are private.
    const withToken = await raw(catalogUrl(), {
      headers: { ...PREFLIGHTED, authorization: `Bearer ${alice.token}` },
    });
    assert.equal(withToken.status, 200);
    assert.equal(withToken.headers['cache-control'], 'private, no-store');
    assert.equal(withToken.headers.etag, undefined);
    for (const user of [alice, bob]) {
      const viewer = await raw(`${gateway.url}?documentId=${VIEWER}`, {
        headers: { ...PREFLIGHTED, authorization: `Bearer ${user.token}`, 'if-none-match': '*' },
      });
      assert.equal(viewer.status, 200, 'no 304 for a private answer');
      assert.equal(viewer.headers['cache-control'], 'private, no-store');
      assert.equal(viewer.headers.etag, undefined);
    }
    const anonymousViewer = await raw(`${gateway.url}?documentId=${VIEWER}`, { headers: PREFLIGHTED });
    assert.equal(anonymousViewer.headers['cache-control'], 'private, no-store');
  });

  it('compresses large answers in Brotli or gzip as accepted, and leaves small ones alone', async () => {
    const plain = await raw(catalogUrl(), { headers: PREFLIGHTED });
    const br = await raw(catalogUrl(), { headers: { ...PREFLIGHTED, 'accept-encoding': 'gzip, br' } });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.deepEqual(JSON.parse(brotliDecompressSync(br.body).toString()), json(plain));
    assert.ok(br.body.length < plain.body.length / 2, `${br.body.length} < ${plain.body.length} / 2`);
    assert.match(String(br.headers.vary), /accept-encoding/i);
    assert.notEqual(br.headers.etag, plain.headers.etag, 'each encoding has its own strong validator');

    const gz = await raw(catalogUrl(), { headers: { ...PREFLIGHTED, 'accept-encoding': 'gzip, br;q=0' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(gz.body).toString()), json(plain));

    const small = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'br, gzip' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(small.headers['content-encoding'], undefined);
  });

  it('flushes every event of a compressed multipart or SSE subscription as it happens', async () => {
    const customer = await stack.signUp('Carol');
    for (const [accept, encoding] of [
      ['multipart/mixed;subscriptionSpec="1.0"', 'gzip'],
      ['text/event-stream', 'br'],
    ] as const) {
      const orderId = await journey.place(customer.token);
      let received = '';
      const req = request(gateway.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept,
          'accept-encoding': encoding,
          authorization: `Bearer ${customer.token}`,
        },
      });
      const response = new Promise<Record<string, unknown>>((resolve) =>
        req.on('response', (res) => {
          const inflate = encoding === 'gzip' ? createGunzip() : createBrotliDecompress();
          res.pipe(inflate).on('data', (chunk: Buffer) => (received += chunk.toString()));
          resolve(res.headers);
        }),
      );
      req.end(
        JSON.stringify({
          query: `subscription($id: ID!) { orderStatusChanged(orderId: $id, after: 0) { id status } }`,
          variables: { id: orderId },
        }),
      );
      const headers = await response;
      assert.equal(headers['content-encoding'], encoding);
      // Still streaming: the event arrived because it was flushed, not because the response ended.
      await eventually(() => received.includes('"CONFIRMED"'), 60_000, `CONFIRMED over ${accept} in ${encoding}`);
      req.destroy();
    }
  });

  it('accepts gzip uploads, and refuses a bomb, a corrupt body and an unknown encoding, staying healthy', async () => {
    const body = JSON.stringify({ query: '{ categories { id name } }' });
    const zipped = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    assert.equal(zipped.status, 200, zipped.body.toString());
    assert.ok(json(zipped).data.categories.length > 0);

    // 16 MiB of spaces around a query: ~16 KiB gzipped, far past MAX_BODY_BYTES once inflated.
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"query":"{ __typename }"'), Buffer.alloc(16 * 2 ** 20, ' '), Buffer.from('}')]),
    );
    assert.ok(bomb.length < 256 * 1024);
    const exploded = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(exploded.status, 413);
    assert.equal(code(exploded), 'PAYLOAD_TOO_LARGE');

    const corrupt = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: Buffer.from('not gzip at all'),
    });
    assert.equal(corrupt.status, 400);
    assert.equal(code(corrupt), 'BAD_REQUEST');

    const unknown = await raw(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'zstd' },
      body,
    });
    assert.equal(unknown.status, 415);
    assert.equal(code(unknown), 'UNSUPPORTED_MEDIA_TYPE');

    assert.equal((await raw(new URL('/healthz', gateway.url).toString())).status, 200);
  });
});
