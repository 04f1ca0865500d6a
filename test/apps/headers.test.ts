import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadGatewayConfig } from '@storefront/gateway';
import { localeOf } from '@storefront/platform/server';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Header propagation (gateway/headers.yaml) as the subgraphs and the app see
 * it: products and notifications receive the caller's accept-language, every
 * subgraph the app's name and version, nobody the caller's credentials; the
 * answer headers the rules name come back, others do not. Apollo Client's
 * name and version also reach the metrics.
 */
interface Recorder {
  url: string;
  received: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Forwards to `target` byte for byte (the signature covers the body), recording headers and adding answer headers. */
async function recorder(target: string, answerHeaders: Record<string, string>): Promise<Recorder> {
  const received: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      if (req.method === 'POST') received.push(req.headers);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
      ) as Record<string, string>;
      const upstream = await fetch(new URL(req.url ?? '/', target), {
        method: req.method,
        headers,
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      const forwarded: Record<string, string> = {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
        ...answerHeaders,
      };
      const cacheControl = upstream.headers.get('cache-control');
      if (cacheControl) forwarded['cache-control'] = cacheControl;
      res.writeHead(upstream.status, forwarded).end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('header propagation and client awareness', { timeout: 240_000 }, () => {
  let stack: Stack;
  let products: Recorder;
  let users: Recorder;

  before(async () => {
    stack = await startStack();
    await stack.services.products.seed();
    products = await recorder(stack.services.products.url, { 'content-language': 'fr', 'x-internal-note': 'secret' });
    users = await recorder(stack.services.users.url, { 'content-language': 'en' });
  });
  after(async () => {
    await stack?.stop();
    await products?.close();
    await users?.close();
  });

  it('sends each subgraph the headers the rules name, never credentials, and passes back only named answer headers', async () => {
    const gateway = await stack.startGateway({}, { subgraphUrls: { products: products.url, users: users.url } });
    const { token } = await stack.signUp('Lea Locale');
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        cookie: 'session=abc',
        'accept-language': 'fr-CH, fr;q=0.9, en;q=0.5',
        'apollographql-client-name': 'storefront-web',
        'apollographql-client-version': '1.2.3',
      },
      body: JSON.stringify({ query: '{ categories { name } me { name } }' }),
    });
    const body = (await res.json()) as { data: { categories: unknown[]; me: { name: string } } };
    assert.equal(body.data.me.name, 'Lea Locale');
    assert.ok(products.received.length > 0 && users.received.length > 0);

    const toProducts = products.received.at(-1)!;
    assert.equal(toProducts['accept-language'], 'fr-CH, fr;q=0.9, en;q=0.5');
    assert.equal(toProducts['apollographql-client-name'], 'storefront-web');
    assert.equal(toProducts['apollographql-client-version'], '1.2.3');
    const toUsers = users.received.at(-1)!;
    assert.equal(toUsers['accept-language'], undefined, 'users is not named for accept-language');
    assert.equal(toUsers['apollographql-client-name'], 'storefront-web');
    for (const received of [toProducts, toUsers]) {
      assert.equal(received.authorization, undefined);
      assert.equal(received.cookie, undefined);
    }

    assert.ok(['fr', 'en'].includes(res.headers.get('content-language') ?? ''), 'content-language passed back');
    assert.equal(res.headers.get('x-internal-note'), null);

    const metrics = await (await fetch(gateway.metricsUrl!)).text();
    assert.match(
      metrics,
      /gateway_graphql_requests_total\{[^}]*client_name="storefront-web",client_version="1\.2\.3"[^}]*\} [1-9]/,
    );
  });

  it("lets a subgraph read the caller's locale", () => {
    assert.equal(localeOf('fr-CH, fr;q=0.9, en;q=0.5'), 'fr-CH');
    assert.equal(localeOf('en;q=0.4, de'), 'de');
    assert.equal(localeOf('*'), undefined);
    assert.equal(localeOf('<script>'), undefined);
    assert.equal(localeOf(undefined), undefined);
  });

  it('refuses a rules file that would leak credentials or names an unknown subgraph, naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'storefront-headers-'));
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const start = (path: string) =>
      stack.startGateway({ HEADERS_CONFIG: path }).then(
        () => assert.fail('started'),
        (error: Error) => error.message,
      );
    assert.match(
      await start(write('auth.yaml', 'request:\n  all: [Authorization]\n')),
      /HEADERS_CONFIG: .*request\.all\.0: may not be propagated/,
    );
    assert.match(
      await start(write('unknown.yaml', 'request:\n  subgraphs:\n    reviews: [accept-language]\n')),
      /HEADERS_CONFIG: .*request\.subgraphs\.reviews: no such subgraph/,
    );
    assert.match(await start(write('typo.yaml', 'requests:\n  all: []\n')), /HEADERS_CONFIG: .*Unrecognized key/);
    assert.ok(loadGatewayConfig({}).HEADERS_CONFIG.endsWith('gateway/headers.yaml'));
  });
});
