import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { captureLogs, eventually } from '@storefront/platform/testing';
import { connectGateway } from '../support/gateway-socket.ts';
import { prepareOrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The gateway's access log: one JSON line per HTTP request, with the
 * operation, the app, the answer and its cost downstream — and nothing a
 * log must not hold (variables, tokens, emails, query strings).
 */
describe('access log', () => {
  let stack: Stack;
  const logs = captureLogs();
  before(async () => {
    stack = await startStack({ embedded: true, logger: logs.logger });
  });
  after(() => stack?.stop());

  const lineOf = (requestId: string) =>
    eventually(
      () => {
        const lines = logs.records.filter((r) => r.access === true && r.requestId === requestId);
        return lines.length > 0 ? lines : undefined;
      },
      5_000,
      `the access line of ${requestId}`,
    );

  it('writes one line per GraphQL request: operation, app, status, duration, subgraph fetches, error codes', async () => {
    const user = await stack.signUp('Ada Secretive');
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${user.token}`,
        'apollographql-client-name': 'storefront-ios',
        'apollographql-client-version': '7.1.0',
        'x-request-id': 'access-log-1',
      },
      body: JSON.stringify({
        query: 'query Profile($id: ID!) { me { name email } order(id: $id) { id } }',
        variables: { id: 'not-an-id' },
        operationName: 'Profile',
      }),
    });
    await res.text();
    const lines = await lineOf('access-log-1');
    assert.equal(lines.length, 1, 'one line');
    const line = lines[0]!;
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/graphql');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.operationName, 'Profile');
    assert.equal(line.operationType, 'query');
    assert.deepEqual(line.client, { name: 'storefront-ios', version: '7.1.0' });
    assert.equal(line.subgraphFetches.users, 1);
    assert.deepEqual(line.errorCodes, ['NOT_FOUND']);
    assert.equal(line.cacheHit, false);
    const text = JSON.stringify(line);
    for (const secret of [user.token, user.email, 'not-an-id', 'Ada Secretive'])
      assert.ok(!text.includes(secret), `the line holds no ${secret.slice(0, 12)}…`);
  });

  it('logs refusals before GraphQL and GETs without their query string', async () => {
    const refused = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'access-log-2' },
      body: '{ not json',
    });
    await refused.text();
    const [line] = await lineOf('access-log-2');
    assert.equal(line!.status, 400);
    assert.equal(line!.operationName, undefined);

    const get = await fetch(
      `${stack.gateway.url}?query=${encodeURIComponent('query Cat($s: String!) { searchProducts(query: $s) { edges { node { id } } } }')}&variables=${encodeURIComponent('{"s":"private-term"}')}`,
      { headers: { 'x-request-id': 'access-log-3', 'apollo-require-preflight': 'true' } },
    );
    await get.text();
    const [getLine] = await lineOf('access-log-3');
    assert.equal(getLine!.method, 'GET');
    assert.equal(getLine!.path, '/graphql');
    assert.equal(getLine!.operationName, 'Cat', JSON.stringify(getLine));
    assert.ok(!JSON.stringify(getLine).includes('private-term'));
  });

  it('writes one line per WebSocket operation when it ends: queries when answered, subscriptions with their events', async () => {
    const journey = await prepareOrderJourney(stack);
    const user = await stack.signUp('Grace Private');
    const socketLines = (operationName: string) =>
      logs.records.filter((r) => r.access === true && r.transport === 'websocket' && r.operationName === operationName);
    const socket = connectGateway(stack.gateway, { token: user.token });
    try {
      await socket.acknowledged;
      const me = await socket.execute('query SocketProfile { me { email } }');
      assert.equal(me.data?.me?.email, user.email);
      const [queryLine] = await eventually(
        () => socketLines('SocketProfile').at(0) && socketLines('SocketProfile'),
        5_000,
        'the query line',
      );
      assert.equal(queryLine!.operationType, 'query');
      assert.equal(queryLine!.results, 1);
      assert.equal(queryLine!.subgraphFetches.users, 1);
      assert.deepEqual(queryLine!.errorCodes, []);
      assert.match(String(queryLine!.requestId), /^[\w-]{8,}$/);

      const orderId = await journey.place(user.token);
      // after: 0 replays the order's changes so far: the first event proves the stream is open.
      const live = socket.subscribe<{ orderStatusChanged: { status: string } }>(
        'subscription Follow($id: ID!) { orderStatusChanged(orderId: $id, after: 0) { status } }',
        { id: orderId },
      );
      await live.waitFor(1);
      assert.equal(socketLines('Follow').length, 0, 'an open subscription has no line yet');
      await journey.deliver(orderId, user.token);
      await eventually(
        () => live.results.some((r) => r.data?.orderStatusChanged.status === 'DELIVERED'),
        30_000,
        'DELIVERED on the socket',
      );
      const events = live.results;
      live.unsubscribe();
      const [followLine] = await eventually(
        () => socketLines('Follow').at(0) && socketLines('Follow'),
        5_000,
        'the subscription line',
      );
      assert.equal(followLine!.operationType, 'subscription');
      assert.ok(
        followLine!.results >= events.length,
        `${followLine!.results} results logged, ${events.length} received`,
      );
      assert.equal(typeof followLine!.durationMs, 'number');

      const refused = await socket.execute('query Broken { nope }');
      assert.ok(refused.errors?.length);
      // Refused in validation, before its operation (and name) is known: found by its code.
      const brokenLine = await eventually(
        () =>
          logs.records.find(
            (r) => r.transport === 'websocket' && (r.errorCodes as string[]).includes('GRAPHQL_VALIDATION_FAILED'),
          ),
        5_000,
        'the refusal line',
      );
      assert.equal(brokenLine.results, 0);
      for (const line of [queryLine, followLine, brokenLine]) {
        const text = JSON.stringify(line);
        for (const secret of [user.token, user.email, orderId, 'Grace Private'])
          assert.ok(!text.includes(secret), `the line holds no ${secret.slice(0, 12)}…`);
      }
    } finally {
      await socket.close();
    }
  });
});
