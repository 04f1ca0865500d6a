import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startReplayingSubgraphs, type ReplayingSubgraphs } from '../../bench/replay.ts';

/**
 * The replaying subgraphs of `bench:gateway` and `bench:tracing`: a
 * gateway's fetch is answered with what the real subgraph answered to the
 * same operation and variables, and nothing is ever made up.
 */
describe('benchmark subgraph replay', () => {
  let upstream: Server;
  let replay: ReplayingSubgraphs;
  const seen: { method: string; path: string; body: string; signature: string | undefined }[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method!,
          path: req.url!,
          body,
          signature: req.headers['x-signature'] as string | undefined,
        });
        if (req.url === '/readyz') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}');
        const { variables } = JSON.parse(body) as { variables: { id: string } };
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data: { product: { id: variables.id, answer: seen.length } } }));
      });
    });
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    replay = await startReplayingSubgraphs({
      products: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`,
    });
  });
  after(async () => {
    await replay.close();
    upstream.close();
  });

  const ask = async (id: string, extensions: unknown = undefined) => {
    const res = await fetch(replay.urls.products!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': `sig-${id}` },
      body: JSON.stringify({ query: 'query($id: ID!) { product(id: $id) { id } }', variables: { id }, extensions }),
    });
    return { status: res.status, text: await res.text() };
  };

  it('forwards the first fetch of each kind, headers and all, and replays its answer for every later one', async () => {
    const first = await ask('p1');
    assert.equal(first.status, 200);
    assert.deepEqual(JSON.parse(first.text), { data: { product: { id: 'p1', answer: 1 } } });
    assert.equal(seen.at(-1)?.signature, 'sig-p1', 'the gateway’s signature reaches the real subgraph');
    // Same operation and variables (other extensions): the recording, not the subgraph.
    assert.equal((await ask('p1', { traceparent: 'x' })).text, first.text);
    assert.equal(seen.length, 1);
    // Other variables: another fetch, forwarded.
    assert.deepEqual(JSON.parse((await ask('p2')).text), { data: { product: { id: 'p2', answer: 2 } } });
    assert.equal(seen.length, 2);
    assert.equal(replay.recorded(), 2);
  });

  it('once frozen, answers health checks from the recording and refuses a fetch it never saw', async () => {
    await replay.freeze();
    assert.ok(
      seen.some((s) => s.method === 'GET' && s.path === '/readyz'),
      'the health check was recorded',
    );
    const before = seen.length;
    const health = await fetch(new URL('/readyz', replay.urls.products).href);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '{"ok":1}');
    assert.equal((await ask('p2')).status, 200);
    const unknown = await ask('p3');
    assert.equal(unknown.status, 502, 'an unrecorded fetch is refused, never answered with something made up');
    assert.equal(seen.length, before, 'nothing reached the real subgraph after freezing');
    assert.equal(replay.misses(), 1);
    assert.match(replay.missed()[0]!, /"p3"/);
  });
});
