import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { callSubgraph, captureLogs, TEST_SECRET } from '@storefront/platform/testing';
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
  const logs = captureLogs();

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
    stack = await startStack({ logger: logs.logger });
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
    assert.deepEqual(JSON.parse(response.body), { data: { __typename: 'Query' } });
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

  it('a document whose operation cannot be chosen is a 400 at every process, and no error is logged', async () => {
    const twoNamed = 'query A { __typename } query B { __typename }';
    const cases = [
      { body: { query: twoNamed, operationName: 'C' }, message: /Unknown operation named "C"/ },
      { body: { query: twoNamed }, message: /Must provide operation name/ },
    ];
    const errorsBefore = logs.records.filter((r) => r.level >= 50).length;
    for (const { body, message } of cases) {
      const res = await fetch(stack.gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      assert.equal(res.status, 400, `gateway: ${JSON.stringify(answer)}`);
      assert.equal(answer.errors[0]?.extensions.code, 'BAD_REQUEST');
      assert.match(answer.errors[0].message, message);
      for (const service of Object.values(stack.services)) {
        const signed = await callSubgraph(service.url, body.query, {}, null, TEST_SECRET, body);
        assert.equal(signed.status, 400, `${service.name}: ${JSON.stringify(signed)}`);
        assert.equal(signed.errors?.[0]?.extensions?.code, 'BAD_REQUEST', service.name);
      }
    }
    // Two anonymous operations cannot even be validated.
    const anonymous = await stack.query('{ __typename } { __typename }');
    assert.equal(anonymous.status, 400);
    assert.equal(anonymous.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const errorsLogged = logs.records.filter((r) => r.level >= 50).slice(errorsBefore);
    assert.deepEqual(errorsLogged, [], 'a client mistake is not an error of the server');
    await assertStillServing();
  });

  it('a NUL or an unpaired surrogate in a string is BAD_USER_INPUT naming the argument, at every process', async () => {
    const illFormed = ['a\u0000b@x.test', 'x\ud800y', '\udc00'];
    for (const value of illFormed) {
      const asVariable = await stack.query(
        'mutation($e: String!) { logIn(email: $e, password: "secret-pass") { accessToken } }',
        { e: value },
      );
      assert.equal(asVariable.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(asVariable));
      assert.equal(asVariable.errors?.[0]?.extensions?.argumentName, 'email');
      assert.equal(asVariable.status, 400);
    }
    // In the document itself, as a GraphQL escape.
    const literal = await stack.query('{ searchProducts(query: "lamp\\u0000") { __typename } }');
    assert.equal(literal.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(literal));
    assert.match(literal.errors[0].message, /Argument "query" of "searchProducts"/);
    // Nested in an input object.
    const nested = await stack.query(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input, idempotencyKey: "k-1") { id } }',
      { input: { items: [{ productId: 'p\u0000', quantity: 1 }] } },
    );
    assert.equal(nested.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(nested));
    assert.equal(nested.errors?.[0]?.extensions?.argumentName, 'input');

    // Each service refuses it too: a request that did not come through the gateway is held to the same rule.
    const perService: Record<string, string> = {
      users: 'query($v: String) { users(after: $v) { __typename } }',
      products: 'query($v: String!) { searchProducts(query: $v) { __typename } }',
      orders: 'query($v: String) { orders(after: $v) { __typename } }',
      notifications: 'query($v: ID!) { notification(id: $v) { __typename } }',
    };
    for (const service of Object.values(stack.services)) {
      const query = perService[service.name];
      assert.ok(query, service.name);
      const res = await callSubgraph(service.url, query, { v: 'a\u0000' });
      assert.equal(res.status, 400, `${service.name}: ${JSON.stringify(res)}`);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', service.name);
      assert.equal(
        res.errors?.[0]?.extensions?.argumentName,
        { products: 'query', notifications: 'id' }[service.name] ?? 'after',
      );
    }
    // A well-formed string with astral characters (a surrogate pair) is fine.
    const emoji = await stack.query('{ searchProducts(query: "lamp 🪔") { __typename } }');
    assert.equal(emoji.errors, undefined, JSON.stringify(emoji));
    await assertStillServing();
  });

  it('a request Node cannot parse gets its 400 or 431 as JSON, then a graceful close', async () => {
    const cases = [
      { request: 'GARBAGE\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
      { request: 'GET /graphql HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
      {
        // Past Node's 16 KiB header limit; the rest keeps arriving after the answer.
        request: `POST /graphql HTTP/1.1\r\nHost: x\r\nX-Flood: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
        status: 431,
        code: 'REQUEST_HEADER_FIELDS_TOO_LARGE',
      },
    ];
    for (const { name, url } of targets) {
      for (const { request, status, code } of cases) {
        const exchange = await rawExchange(url, request);
        const where = `${name} ${request.slice(0, 40)}: ${exchange.received.slice(0, 200)}`;
        assert.equal(exchange.response?.status, status, where);
        assert.equal(errorCode(exchange.response), code, where);
        assert.equal(exchange.ending, 'end', where);
      }
    }
    await assertStillServing();
  });

  it('a socket that sends a message only a server may send is closed with 4400, not reported as our error', async () => {
    const errorsBefore = logs.records.filter((r) => r.level >= 50).length;
    for (const type of ['next', 'error', 'connection_ack']) {
      const socket = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      socket.send(JSON.stringify({ type, id: '1', payload: { data: {} } }));
      assert.equal(await closed, 4400, type);
    }
    assert.deepEqual(logs.records.filter((r) => r.level >= 50).slice(errorsBefore), []);
    await assertStillServing();
  });
});
