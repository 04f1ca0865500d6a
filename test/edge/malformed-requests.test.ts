import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { callSubgraph } from '@storefront/platform/testing';
import { connectGateway } from '../support/gateway-socket.ts';
import { errorCode, rawExchange, upgradeRequest } from '../support/raw-http.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Requests that once took a process down or got a 500, sent byte for byte as
 * an attacker would, against the real gateway and subgraphs. Each must get
 * its 4xx, and every process must go on serving.
 */
describe('malformed requests at the edge of every process', { timeout: 300_000 }, () => {
  let stack: Stack;
  let targets: { name: string; url: string }[];

  /** The gateway and the subgraphs still answer a normal request, and the WebSocket endpoint still accepts. */
  async function assertStillServing(): Promise<void> {
    const res = await stack.query('{ categories { id } }');
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.errors, undefined, JSON.stringify(res));
    for (const service of Object.values(stack.services)) {
      const health = await fetch(new URL('/healthz', service.url));
      assert.equal(health.status, 200, `${service.name} /healthz`);
    }
    const socket = connectGateway(stack.gateway);
    await socket.acknowledged;
    await socket.close();
  }

  before(async () => {
    stack = await startStack();
    targets = [
      { name: 'gateway', url: stack.gateway.url },
      ...Object.values(stack.services).map((s) => ({ name: s.name, url: s.url })),
    ];
  });
  after(() => stack?.stop());

  it('an upgrade whose request target is not a valid URL gets 400, and every process lives on', async () => {
    for (const { name, url } of targets) {
      for (const target of ['//[', '/graphql/%zz', 'http://[::1/graphql']) {
        const { response, ending } = await rawExchange(url, upgradeRequest(target));
        assert.equal(response?.status, 400, `${name} ${target}`);
        assert.equal(errorCode(response), 'BAD_REQUEST', `${name} ${target}`);
        assert.equal(ending, 'end', `${name} ${target}: closed gracefully`);
      }
    }
    await assertStillServing();
  });

  it('an absolute-form request target with an invalid host gets 400 BAD_REQUEST, not 500', async () => {
    for (const { name, url } of targets) {
      const body = JSON.stringify({ query: '{ __typename }' });
      const { response } = await rawExchange(
        url,
        `POST http://[::1/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(response?.status, 400, `${name}: ${response?.body}`);
      assert.equal(errorCode(response), 'BAD_REQUEST', name);
    }
    // A valid absolute-form target is still served (a proxy may send one).
    const body = JSON.stringify({ query: '{ __typename }' });
    const { response } = await rawExchange(
      stack.gateway.url,
      `POST ${stack.gateway.url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(response?.status, 200, response?.body);
    assert.deepEqual(JSON.parse(response!.body), { data: { __typename: 'Query' } });
    const signed = await callSubgraph(stack.services.products.url, '{ categories { id } }');
    assert.equal(signed.status, 200);
    await assertStillServing();
  });

  it('an oversized body gets its 413 and a graceful close, even while the client is still uploading', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (const { name, url } of [targets[0]!, targets.find((t) => t.name === 'products')!]) {
      const declared = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`;
      const streamed = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      const chunked = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
      for (const [how, head, more] of [
        ['declared', declared, chunk],
        ['streamed', streamed, chunked],
      ] as const) {
        // 8 MiB more than the limit: more than the kernel buffers, so the server must go on reading after its answer.
        const exchange = await rawExchange(url, head, { thenSend: { chunk: more, count: 128 } });
        const where = `${name}, ${how}: ${exchange.received.slice(0, 300)}`;
        assert.equal(exchange.error, undefined, where);
        assert.equal(exchange.response?.status, 413, where);
        assert.equal(errorCode(exchange.response), 'PAYLOAD_TOO_LARGE', where);
        assert.equal(exchange.response?.headers.connection, 'close', where);
        assert.equal(exchange.ending, 'end', where);
      }
    }
    await assertStillServing();
  });
});
