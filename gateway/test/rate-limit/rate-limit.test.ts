import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { createLogger } from '@storefront/platform/logger';
import { MemoryStore } from '@storefront/platform/store';
import { bucketAddress, clientAddress } from '../../src/rate-limit/client-address.ts';
import { loadRateLimits } from '../../src/rate-limit/config.ts';
import { collectRootFields, createRateLimiter } from '../../src/rate-limit/limiter.ts';
import { rootFieldRoutes } from '../../src/rate-limit/routes.ts';
import { composeFromConfig } from '../../src/supergraph/index.ts';

const root = new URL('../../../', import.meta.url).pathname;
const routes = rootFieldRoutes(composeFromConfig(join(root, 'supergraph.yaml')).sdl);
const dir = mkdtempSync(join(tmpdir(), 'rate-limits-'));
let files = 0;
const file = (text: string, ext = 'yaml') => {
  const path = join(dir, `limits-${files++}.${ext}`);
  writeFileSync(path, text);
  return path;
};
const problemsOf = (text: string, ext?: string) => {
  try {
    loadRateLimits(file(text, ext), routes);
  } catch (error) {
    return (error as { problems?: string[] }).problems ?? [(error as Error).message];
  }
  return [];
};

function parseOperation(source: string): {
  operation: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
} {
  const document = parse(source);
  const fragments = new Map<string, FragmentDefinitionNode>();
  let operation: OperationDefinitionNode | undefined;
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    if (d.kind === Kind.OPERATION_DEFINITION) operation ??= d;
  }
  return { operation: operation!, fragments };
}

describe('rate limits: routes from the supergraph', () => {
  it('maps every root field to the subgraph that owns it', () => {
    assert.deepEqual(routes.owners.get('Query.me'), ['users']);
    assert.deepEqual(routes.owners.get('Mutation.logIn'), ['users']);
    assert.deepEqual(routes.owners.get('Query.order'), ['orders']);
    assert.deepEqual(routes.owners.get('Mutation.placeOrder'), ['orders']);
    assert.deepEqual(routes.owners.get('Query.products'), ['products']);
    assert.deepEqual(routes.owners.get('Mutation.markNotificationRead'), ['notifications']);
    for (const [field, owners] of routes.owners) assert.equal(owners.length, 1, `${field} has one owner`);
    assert.deepEqual(routes.args.get('Mutation.logIn'), ['email', 'password']);
    assert.deepEqual(routes.subgraphs, ['notifications', 'orders', 'products', 'users']);
  });
});

describe('rate limits: the config file', () => {
  it('loads the shipped defaults: users 1000/min, orders 500/min, logIn by address and email', () => {
    const config = loadRateLimits(undefined, routes);
    assert.deepEqual(
      { limit: config.routes.get('users')!.limit, windowMs: config.routes.get('users')!.windowMs },
      { limit: 1000, windowMs: 60_000 },
    );
    assert.equal(config.routes.get('orders')!.limit, 500);
    const [perAccount] = config.fields.get('Mutation.logIn')!;
    assert.deepEqual(perAccount!.by, [{ kind: 'ip' }, { kind: 'arg', name: 'email' }]);
    assert.equal(perAccount!.limit, 10);
    assert.ok(
      config.fields.get('Mutation.signUp')![0]!.limit / config.fields.get('Mutation.signUp')![0]!.windowMs <
        10 / 60_000,
      'signUp is stricter',
    );
  });

  it('reads JSON too, and windows in ms, s, m, h or plain seconds', () => {
    const config = loadRateLimits(
      file(
        JSON.stringify({ routes: { orders: { limit: 5, window: 30 } }, defaultRoute: { limit: 9, window: '2h' } }),
        'json',
      ),
      routes,
    );
    assert.equal(config.routes.get('orders')!.windowMs, 30_000);
    assert.equal(config.defaultRoute.windowMs, 7_200_000);
    assert.deepEqual(config.defaultRoute.by, [{ kind: 'client' }]);
  });

  it('refuses bad files with messages that name the key', () => {
    const cases: [string, RegExp][] = [
      ['routes: { orders: { limit: 0, window: 1m } }', /routes\.orders\.limit: must be at least 1/],
      ['routes: { orders: { limit: 2.5, window: 1m } }', /routes\.orders\.limit: must be a whole number/],
      ['routes: { orders: { limit: "many", window: 1m } }', /routes\.orders\.limit: must be a number/],
      ['routes: { orders: { limit: 5, window: soon } }', /routes\.orders\.window: must be a duration/],
      ['routes: { orders: { limit: 5 } }', /routes\.orders\.window/],
      ['routes: { orders: { limit: 5, window: 1m, burst: 3 } }', /routes\.orders\.burst: unknown setting/],
      ['routes: { shipping: { limit: 5, window: 1m } }', /routes\.shipping: no such subgraph in the supergraph/],
      ['fields: { "Mutation.logon": { limit: 5, window: 1m } }', /fields\["Mutation\.logon"\]: no such root field/],
      ['fields: { logIn: { limit: 5, window: 1m } }', /fields\["logIn"\]: keys are "Type\.field"/],
      [
        'fields: { "Mutation.logIn": { limit: 5, window: 1m, by: ["arg:username"] } }',
        /fields\["Mutation\.logIn"\]\.by: the field has no argument "username"/,
      ],
      [
        'fields: { "Mutation.logIn": [{ limit: 5, window: 1m, by: [cookie] }] }',
        /fields\["Mutation\.logIn"\]\[0\]\.by\[0\]: must be "client", "ip" or "arg:<argument name>"/,
      ],
      [
        'routes: { orders: { limit: 5, window: 1m, by: ["arg:id"] } }',
        /routes\.orders\.by: "arg:id" only applies to fields/,
      ],
      ['limits: {}', /RATE_LIMITS_CONFIG \(.*\): limits: unknown setting/],
    ];
    for (const [text, expected] of cases) {
      const problems = problemsOf(text);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${text}\n→ ${problems.join('\n')}`,
      );
      assert.ok(
        problems.every((p) => p.startsWith('RATE_LIMITS_CONFIG (')),
        'each names the setting and the file',
      );
    }
    assert.deepEqual(problemsOf(''), [], 'an empty file means the defaults');
    assert.match(problemsOf('just some text').join(), /\(root\)/);
    assert.throws(
      () => loadRateLimits(join(dir, 'missing.yaml'), routes),
      /RATE_LIMITS_CONFIG \(.*missing\.yaml\): cannot read/,
    );
  });
});

describe('rate limits: what an operation spends', () => {
  it('finds root fields through fragments, once per response key, skipping introspection', () => {
    const { operation, fragments } = parseOperation(`
      query { __typename ...A ... on Query { b: product(id: "1") { id } } me { id } me { id } x: me { id } }
      fragment A on Query { products(first: 1) { edges { cursor } } ...A2 }
      fragment A2 on Query { categories { id } }
    `);
    const names = collectRootFields(operation.selectionSet, fragments).map((f) => f.alias?.value ?? f.name.value);
    assert.deepEqual(names.sort(), ['b', 'categories', 'me', 'products', 'x']);
  });

  it('walks a fragment bomb in linear time', () => {
    const depth = 60;
    const defs = Array.from({ length: depth }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(
      '\n',
    );
    const { operation, fragments } = parseOperation(
      `query { ...F0 }\n${defs}\nfragment F${depth} on Query { me { id } }`,
    );
    const started = performance.now();
    assert.equal(collectRootFields(operation.selectionSet, fragments).length, 1);
    assert.ok(performance.now() - started < 50);
  });

  it('spends one token per route and one per use of a limited field, keyed by argument when asked', async () => {
    const limiter = createRateLimiter({
      config: loadRateLimits(
        file(`
routes: { users: { limit: 100, window: 1m } }
fields:
  Mutation.logIn: { limit: 2, window: 1m, by: [ip, "arg:email"] }
`),
        routes,
      ),
      routes,
      store: new MemoryStore(),
      keySecret: 'test',
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    const caller = { identity: null, clientIp: '192.0.2.1' };
    const op = (source: string) => parseOperation(source);
    const check = (source: string, variables?: Record<string, unknown>, who = caller) => {
      const { operation, fragments } = op(source);
      return limiter.check(operation, fragments, variables, who);
    };
    const LOG_IN = 'mutation($e: String!) { logIn(email: $e, password: "x") { accessToken } }';
    assert.equal(await check(LOG_IN, { e: 'a@example.com' }), undefined);
    assert.equal(await check(LOG_IN, { e: ' A@Example.com' }), undefined);
    const refused = await check(LOG_IN, { e: 'a@example.com' });
    assert.equal(refused?.rule, 'fields["Mutation.logIn"]');
    assert.ok(refused.retryAfterSeconds >= 29 && refused.retryAfterSeconds <= 30);
    assert.equal(await check(LOG_IN, { e: 'b@example.com' }), undefined, 'another account');
    assert.equal(
      await check(LOG_IN, { e: 'a@example.com' }, { identity: null, clientIp: '192.0.2.2' }),
      undefined,
      'another address',
    );
    const aliased = await check(
      'mutation { x: logIn(email: "c@example.com", password: "1") { accessToken } y: logIn(email: "c@example.com", password: "2") { accessToken } z: logIn(email: "c@example.com", password: "3") { accessToken } }',
    );
    assert.equal(aliased?.retryAfterSeconds, 60, 'more uses than the bucket holds: a whole window');
  });
});

describe('rate limits: client addresses', () => {
  const req = (remote: string, forwarded?: string) =>
    ({ socket: { remoteAddress: remote }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as never;

  it('ignores X-Forwarded-For unless proxies are trusted, and then reads only their hops', () => {
    assert.equal(clientAddress(req('10.0.0.5', '203.0.113.7'), 0), '10.0.0.5');
    assert.equal(clientAddress(req('10.0.0.5', '203.0.113.7'), 1), '203.0.113.7');
    assert.equal(clientAddress(req('10.0.0.5', '6.6.6.6, 203.0.113.7'), 1), '203.0.113.7', 'the client wrote 6.6.6.6');
    assert.equal(clientAddress(req('10.0.0.5', '6.6.6.6, 203.0.113.7, 10.0.0.9'), 2), '203.0.113.7');
    assert.equal(clientAddress(req('10.0.0.5'), 2), '10.0.0.5', 'fewer hops than configured');
  });

  it('keys IPv6 by /64 and unwraps IPv4-mapped addresses', () => {
    assert.equal(bucketAddress('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(bucketAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(bucketAddress('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(bucketAddress('::1'), '0:0:0:0::/64');
    assert.equal(bucketAddress('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(bucketAddress('192.0.2.1'), '192.0.2.1');
  });
});
