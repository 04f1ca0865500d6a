import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parse } from 'graphql';
import { allow } from 'graphql-shield';
import type { Identity } from '../src/auth/identity.ts';
import { isAuthenticated, isStaff } from '../src/service/rules.ts';
import { LiveFeed } from '../src/events/live-feed.ts';
import { createEvent } from '../src/events/envelope.ts';
import { MemoryEventBus } from '../src/events/memory-bus.ts';
import { createLogger } from '../src/logger/logger.ts';
import { mapStream, resumeAt } from '../src/streams/index.ts';
import type { BaseContext } from '../src/service/context.ts';
import { buildProtectedSchema } from '../src/service/subgraph.ts';
import { serveSubscriptions, type SubscriptionServer } from '../src/service/subscriptions.ts';
import { captureLogs, connectSubgraph, eventually, TEST_SECRET, type SubgraphSocket } from '../src/testing/index.ts';

/**
 * The subscription server on its own, with a tiny schema: rules apply to
 * every pushed field with the operation's own identity, each event gets a
 * fresh context, internal errors are masked, and stopping ends everything.
 */
const typeDefs = parse(`
  type Query { ping: Int }
  type Subscription { ticks: Tick! }
  type Tick { n: Int!  staffOnly: Int  broken: Int  contextNumber: Int }
`);
const logger = createLogger({ name: 'test', level: 'silent' });
const logs = captureLogs('warn');
const customer: Identity = { userId: '00000000-0000-4000-8000-000000000001', role: 'CUSTOMER' };
const clerk: Identity = { userId: '00000000-0000-4000-8000-000000000002', role: 'STAFF' };
const TICKS = `subscription { ticks { n staffOnly broken contextNumber } }`;

interface TestContext extends BaseContext {
  contextNumber: number;
}

describe('subgraph subscriptions server', () => {
  let http: Server;
  let url: string;
  let subscriptions: SubscriptionServer;
  let socket: SubgraphSocket;
  const bus = new MemoryEventBus(logger);
  const feed = new LiveFeed({ service: 'test', topics: ['ticks'], bus, logger });
  let contexts = 0;

  before(async () => {
    await feed.start();
    const schema = buildProtectedSchema(
      typeDefs,
      {
        Subscription: {
          // Each tick says how to resume after it (the gateway's business; here only that it is sent).
          ticks: {
            subscribe: () =>
              mapStream(feed.subscribe({ topic: 'ticks' }), ({ event }) =>
                resumeAt({ ticks: event.data }, { after: (event.data as { n: number }).n }),
              ),
          },
        },
        Tick: {
          broken: () => {
            throw new Error('database password is hunter2');
          },
          contextNumber: (_tick: unknown, _args: unknown, ctx: TestContext) => ctx.contextNumber,
        },
      },
      {
        Query: { ping: allow, _service: allow },
        _Service: allow,
        Subscription: { ticks: isAuthenticated },
        Tick: { n: allow, staffOnly: isStaff, broken: allow, contextNumber: allow },
      },
    );
    http = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const address = http.address() as { port: number };
    url = `http://127.0.0.1:${address.port}/graphql`;
    subscriptions = serveSubscriptions<TestContext>({
      service: 'test',
      server: http,
      logger: logs.logger,
      schema,
      secret: TEST_SECRET,
      createContext: (base) => ({ ...base, contextNumber: ++contexts }),
    });
    socket = connectSubgraph({ url });
  });
  after(async () => {
    await socket.close();
    await subscriptions.close();
    await new Promise((resolve) => http.close(resolve));
    await feed.stop();
    await bus.close();
  });

  it('applies the rules to every pushed field with the operation’s own identity, and a fresh context per event', async () => {
    const customers = socket.subscribe(TICKS, {}, customer);
    const clerks = socket.subscribe(TICKS, {}, clerk);
    await eventually(() => subscriptions.activeSubscriptions() === 2, 10_000, 'two subscriptions');
    const before = contexts;
    await bus.publish('ticks', [
      createEvent('test', 'Tick', 't', { n: 1, staffOnly: 7 }),
      createEvent('test', 'Tick', 't', { n: 2, staffOnly: 8 }),
    ]);
    await customers.waitFor(2);
    await clerks.waitFor(2);

    // The same socket carries both callers; each sees what its identity allows.
    assert.deepEqual(
      customers.results.map((r) => r.data!.ticks.staffOnly),
      [null, null],
    );
    assert.deepEqual(
      customers.results.map((r) => r.errors!.find((e) => e.path?.join('.') === 'ticks.staffOnly')?.extensions?.code),
      ['FORBIDDEN', 'FORBIDDEN'],
    );
    assert.deepEqual(
      clerks.results.map((r) => r.data!.ticks.staffOnly),
      [7, 8],
    );
    // Each event carries its resume point, outside the data.
    assert.deepEqual(
      customers.results.map((r) => r.extensions?.resume),
      [{ after: 1 }, { after: 2 }],
    );
    assert.equal('after' in customers.results[0]!.data!.ticks, false);
    // Refusals are audited as over HTTP, with the operation's caller.
    const denials = logs.find('access_denied');
    assert.equal(denials.length, 2);
    assert.deepEqual(
      {
        userId: denials[0]!.userId,
        role: denials[0]!.role,
        fields: denials[0]!.fields,
        transport: denials[0]!.transport,
      },
      { userId: customer.userId, role: 'CUSTOMER', fields: ['ticks.staffOnly'], transport: 'websocket' },
    );

    // A bug's message never reaches the gateway.
    const broken = clerks.results[0]!.errors!.find((e) => e.path?.join('.') === 'ticks.broken')!;
    assert.equal(broken.message, 'Internal server error');
    assert.equal(broken.extensions?.code, 'INTERNAL_SERVER_ERROR');

    // One new context per pushed event and subscriber: no DataLoader or rule cache outlives an event.
    assert.equal(contexts - before, 4);
    const numbers = [...customers.results, ...clerks.results].map((r) => r.data!.ticks.contextNumber);
    assert.equal(new Set(numbers).size, 4);

    customers.unsubscribe();
    clerks.unsubscribe();
    await eventually(() => subscriptions.activeSubscriptions() === 0 && feed.listenerCount() === 0, 10_000, 'all gone');
  });

  it('refuses anonymous callers with the subscription field’s rule', async () => {
    const anonymous = socket.subscribe(TICKS, {}, null);
    await anonymous.ended;
    assert.equal(anonymous.results[0]?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(subscriptions.activeSubscriptions(), 0);
  });

  it('labels parse and validation errors, and answers 404 to upgrades on other paths', async () => {
    const unparsable = socket.subscribe('subscription {', {}, customer);
    const invalid = socket.subscribe('subscription { nope }', {}, customer);
    await Promise.all([unparsable.ended, invalid.ended]);
    const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }[])[0]?.extensions?.code;
    assert.equal(codeOf(unparsable.error), 'GRAPHQL_PARSE_FAILED');
    assert.equal(codeOf(invalid.error), 'GRAPHQL_VALIDATION_FAILED');

    const elsewhere = connectSubgraph({ url: url.replace('/graphql', '/other') });
    const lost = elsewhere.subscribe(TICKS, {}, customer);
    await lost.ended;
    assert.ok(lost.error, 'the connection failed');
    await elsewhere.close();
  });

  it('closes open sockets with 1012 (Service Restart, retryable) on close, ending their operations', async () => {
    const staying = socket.subscribe(TICKS, {}, clerk);
    await eventually(() => subscriptions.activeSubscriptions() === 1, 10_000, 'subscribed');
    await subscriptions.close(2_000);
    await staying.ended;
    assert.equal((staying.error as { code?: number }).code, 1012);
    await eventually(() => subscriptions.activeSubscriptions() === 0 && feed.listenerCount() === 0, 10_000, 'all gone');
  });
});
