import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadGatewayConfig, startGateway, type RunningGateway } from '@storefront/gateway';
import { createLogger } from '@storefront/platform/logger';
import { trafficFile } from '../support/fault-proxy.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Hostile input against the real gateway in production mode, on the real
 * backends. Every case must be refused with its exact `extensions.code` (and
 * HTTP status), before any subgraph is called, without a stack trace, an
 * internal message or a schema suggestion; and the gateway must answer a
 * normal query right after. The suite reports its counts as a diagnostic.
 */
interface Raw {
  status: number;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** Anything a refusal must never contain. */
const LEAKS: [string, RegExp][] = [
  ['a stack trace', /stack ?trace|\bat [\w.<>]+ \(|\n\s+at /i],
  ['a source path', /node_modules|\/src\/|\.[cm]?[jt]s:\d+/],
  ['a schema suggestion', /did you mean/i],
  ['an internal address', /ECONN|127\.0\.0\.1|localhost|::1/i],
  ['a backend name', /prisma|postgres|\bsql\b|kafka|redis/i],
  ['subgraph internals', /subgraph|_entities|_service/i],
];
/** The only extensions a refusal carries. */
const ALLOWED_EXTENSIONS = new Set(['code', 'limit', 'cost', 'maxCost', 'validationErrorCode', 'requestId']);

/**
 * `namesSubgraph`: an unreachable or timed-out subgraph is named (message and
 * `serviceName`) so clients and operators know which part is down — its name
 * only, never its address or anything it said.
 */
function assertNoLeak(res: Raw, options: { namesSubgraph?: boolean } = {}): void {
  for (const [what, pattern] of LEAKS) {
    if (options.namesSubgraph && what === 'subgraph internals') continue;
    assert.doesNotMatch(res.text, pattern, `response leaks ${what}: ${res.text.slice(0, 500)}`);
  }
  for (const error of res.body.errors ?? []) {
    for (const key of Object.keys(error.extensions ?? {})) {
      assert.ok(
        ALLOWED_EXTENSIONS.has(key) || (options.namesSubgraph && key === 'serviceName'),
        `unexpected extension ${key}`,
      );
    }
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const repeat = (n: number, make: (i: number) => string) => Array.from({ length: n }, (_, i) => make(i)).join(' ');
/** `nest(['me', 'name'])` is `{ me { name } }`. */
const nest = (path: string[]) =>
  `{ ${path.reduceRight((inner, field) => (inner ? `${field} { ${inner} }` : field), '')} }`;
const NORMAL = `{ categories { id name products(first: 5) { edges { node { id name price { amount currency } } } } } }`;

describe('hostile input at the gateway (production mode)', { timeout: 300_000 }, () => {
  let stack: Stack;
  /** Refused requests per kind of attack, for the summary. */
  const refused = new Map<string, number>();

  async function send(init: {
    body?: string;
    headers?: Record<string, string>;
    method?: string;
    search?: string;
  }): Promise<Raw> {
    const res = await fetch(stack.gateway.url + (init.search ?? ''), {
      method: init.method ?? 'POST',
      headers: init.headers ?? { 'content-type': 'application/json' },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.text();
    let body: Raw['body'] = {};
    try {
      body = JSON.parse(text) as Raw['body'];
    } catch {
      assert.fail(`not a JSON answer (${res.status}): ${text.slice(0, 200)}`);
    }
    return { status: res.status, text, body };
  }
  const operation = (query: string, variables?: Record<string, unknown>, extensions?: Record<string, unknown>) =>
    send({
      body: JSON.stringify({ query, ...(variables ? { variables } : {}), ...(extensions ? { extensions } : {}) }),
    });

  /**
   * One kind of attack: each request must be refused as `expected`, no
   * subgraph may be called, and a normal query must work afterwards.
   */
  async function expectRefused(
    kind: string,
    requests: (() => Promise<Raw>)[],
    expected: { status: number; code: string; limit?: string; message?: RegExp; maxErrors?: number },
  ): Promise<Raw[]> {
    const fetchesBefore = stack.gateway.subgraphFetches();
    const answers: Raw[] = [];
    for (const [i, make] of requests.entries()) {
      const res = await make();
      const where = `${kind} #${i + 1}: ${res.text.slice(0, 400)}`;
      assert.equal(res.status, expected.status, where);
      const errors = res.body.errors ?? [];
      assert.ok(errors.length > 0 && errors.length <= (expected.maxErrors ?? 1), where);
      assert.equal(res.body.data, undefined, where);
      for (const error of errors) assert.equal(error.extensions?.code, expected.code, where);
      if (expected.limit)
        assert.ok(
          errors.some((e) => e.extensions?.limit === expected.limit),
          where,
        );
      if (expected.message) assert.match(errors[0]!.message, expected.message, where);
      assertNoLeak(res);
      answers.push(res);
      refused.set(kind, (refused.get(kind) ?? 0) + 1);
    }
    assert.deepEqual(stack.gateway.subgraphFetches(), fetchesBefore, `${kind} reached a subgraph`);
    await assertStillServing();
    return answers;
  }

  async function assertStillServing(): Promise<void> {
    const res = await operation(NORMAL);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.errors, undefined, res.text);
    assert.ok(((res.body.data as { categories: unknown[] }).categories ?? []).length > 0, res.text);
  }

  before(async () => {
    stack = await startStack({ gatewayEnv: { NODE_ENV: 'production' } });
    await stack.services.products.seed();
    await assertStillServing();
  });
  after(() => stack?.stop());

  it('accepts operations right at each limit', async () => {
    const atLimits = [
      nest(['me', 'orders', 'edges', 'node', 'items', 'product', 'category', 'products', 'edges', 'cursor']), // depth 10
      `{ categories { ${repeat(15, (i) => `a${i}: name`)} } }`,
      `{ categories { ${repeat(50, () => 'id @include(if: true)')} } }`,
      `{ ${repeat(10, (i) => `p${i}: categories { id }`)} }`,
      `{ orders(first: 200) { edges { node { id user { name } items { quantity product { name } } } } } }`, // cost 8,601
    ];
    for (const query of atLimits) {
      const res = await operation(query);
      assert.ok(
        !res.body.errors?.some((e) =>
          ['GRAPHQL_VALIDATION_FAILED', 'COST_LIMIT_EXCEEDED', 'GRAPHQL_PARSE_FAILED'].includes(
            String(e.extensions?.code),
          ),
        ),
        res.text,
      );
    }
  });

  it('depth bomb → 400 GRAPHQL_VALIDATION_FAILED (limit depth)', async () => {
    const hop = ['orders', 'edges', 'node', 'user'];
    const recursive = nest(['me', ...hop, ...hop, ...hop, ...hop, ...hop, 'id']);
    const viaFragments = `{ me { ...U } } fragment U on User { orders { edges { node { ...O } } } }
      fragment O on Order { user { orders { edges { node { user { orders { edges { node { id } } } } } } } } }`;
    await expectRefused('depth bomb', [() => operation(recursive), () => operation(viaFragments)], {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'depth',
      message: /nested \d+ levels deep; the limit is 10/,
    });
  });

  it('alias bomb → 400 GRAPHQL_VALIDATION_FAILED (limit aliases)', async () => {
    const many = `{ categories { ${repeat(100, (i) => `a${i}: name`)} } }`;
    // 2^12 spreads of a fragment with one alias, in a few hundred bytes.
    const doubling = `{ categories { ...F0 } } ${repeat(12, (i) => `fragment F${i} on Category { ...F${i + 1} ...F${i + 1} }`)} fragment F12 on Category { n: name }`;
    await expectRefused('alias bomb', [() => operation(many), () => operation(doubling)], {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'aliases',
    });
  });

  it('directive bomb → 400 GRAPHQL_VALIDATION_FAILED (limit directives), errors bounded', async () => {
    const many = `{ categories { ${repeat(60, () => 'id @include(if: true)')} } }`;
    const unknown = `{ categories { id ${repeat(400, () => '@x')} } }`; // would be 400 errors without a bound
    await expectRefused('directive bomb', [() => operation(many)], {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'directives',
    });
    await expectRefused('directive bomb', [() => operation(unknown)], {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'directives',
      maxErrors: 101,
    });
  });

  it('token bomb → 400 GRAPHQL_PARSE_FAILED', async () => {
    const fields = `{ categories { ${'name '.repeat(1200)} } }`;
    const list = `{ product(id: [${'1,'.repeat(2000)}]) { id } }`;
    await expectRefused('token bomb', [() => operation(fields), () => operation(list)], {
      status: 400,
      code: 'GRAPHQL_PARSE_FAILED',
      message: /more that 1000 tokens/,
    });
  });

  it('cost bomb → 400 COST_LIMIT_EXCEEDED, with the cost', async () => {
    const nested = `{ products(first: 200) { edges { node { category { products(first: 200) { edges { node { id name } } } } } } } }`;
    const nestedByVariables = `query($a: Int!, $b: Int!) { users(first: $a) { edges { node { orders(first: $b) { edges { node { items { product { name } } } } } } } } }`;
    const hugePage = `query($n: Int) { orders(first: $n) { edges { node { id } } } }`;
    const answers = await expectRefused(
      'cost bomb',
      [
        () => operation(nested),
        () => operation(nestedByVariables, { a: 200, b: 200 }),
        () => operation(hugePage, { n: 1_000_000 }),
      ],
      { status: 400, code: 'COST_LIMIT_EXCEEDED', limit: 'cost', message: /exceeds the limit of 25000/ },
    );
    assert.deepEqual(
      answers.map((a) => a.body.errors![0]!.extensions!.cost),
      [1 + 200 * (2 + 1 + 1 + 200 * 2), 1 + 200 * (2 + 1 + 200 * (2 + 20 * 2)), 1 + 1_000_000 * 2],
    );
  });

  it('root-field fan-out → 400 GRAPHQL_VALIDATION_FAILED (limit rootFields)', async () => {
    const queries = `{ ${repeat(12, (i) => `p${i}: product(id: "00000000-0000-4000-8000-00000000000${i % 10}") { name }`)} }`;
    const logInSpray = `mutation { ${repeat(11, (i) => `t${i}: logIn(email: "admin@storefront.local", password: "guess-${i}") { accessToken }`)} }`;
    await expectRefused('root-field fan-out', [() => operation(queries), () => operation(logInSpray)], {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      limit: 'rootFields',
    });
  });

  it('oversized body → 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(300 * 1024) } });
    await expectRefused(
      'oversized body',
      [() => send({ body: big }), () => postChunked(stack.gateway.url, 16, 64 * 1024)],
      {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
    );
  });

  it('batch array → 400 BAD_REQUEST', async () => {
    const one = { query: '{ categories { id } }' };
    await expectRefused(
      'batch array',
      [
        () => send({ body: JSON.stringify([one, one]) }),
        () => send({ body: JSON.stringify(Array.from({ length: 500 }, () => one)) }),
        () => send({ body: '[]' }),
      ],
      { status: 400, code: 'BAD_REQUEST' },
    );
  });

  it('malformed JSON and request shapes → 400 BAD_REQUEST', async () => {
    const bodies = [
      '{"query": "{ categories { id } }"',
      'not json',
      '',
      'null',
      '42',
      '"{ categories { id } }"',
      '{"query": 42}',
      '{"query": "{ __typename }", "variables": "{}"}',
      '{}',
    ];
    await expectRefused(
      'malformed JSON',
      bodies.map((body) => () => send({ body })),
      { status: 400, code: 'BAD_REQUEST' },
    );
  });

  it('malformed GraphQL → 400 GRAPHQL_PARSE_FAILED', async () => {
    const documents = [
      '{ categories { id ',
      '}}}}',
      'query {',
      '{ product(id: "unterminated) { id } }',
      '{ categories { id \u0007 } }',
      'mutation',
      '{ categories { ... } }',
    ];
    await expectRefused(
      'malformed GraphQL',
      documents.map((d) => () => operation(d)),
      { status: 400, code: 'GRAPHQL_PARSE_FAILED', message: /^Syntax Error/ },
    );
  });

  it('introspection in production → 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const documents = [
      '{ __schema { types { name fields { name } } } }',
      '{ __type(name: "User") { fields { name } } }',
      '{ categories { id } ...I } fragment I on Query { __schema { queryType { name } } }',
    ];
    await expectRefused(
      'introspection',
      documents.map((d) => () => operation(d)),
      { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /introspection is not allowed/ },
    );
    assert.deepEqual((await operation('{ __typename }')).body, { data: { __typename: 'Query' } });
  });

  it('suggestion leak → refused without "Did you mean" (validation and variable coercion)', async () => {
    const validation = [
      () => operation('{ prodcts { id } }'),
      () => operation('{ categories { nam } }'),
      () => operation('{ products(frist: 2) { edges { cursor } } }'),
      () => operation('{ orders(status: PAYED) { edges { cursor } } }'),
      () => operation('query($s: OrderStatuz) { orders(status: $s) { edges { cursor } } }'),
    ];
    await expectRefused('suggestion leak', validation, { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
    const coercion = [
      () => operation('query($s: OrderStatus) { orders(status: $s) { edges { cursor } } }', { s: 'PAYED' }),
      () =>
        operation('mutation($i: PlaceOrderInput!) { placeOrder(input: $i, idempotencyKey: "k") { id } }', {
          i: { itmes: [] },
        }),
    ];
    await expectRefused('suggestion leak', coercion, { status: 400, code: 'BAD_USER_INPUT', maxErrors: 2 });
  });

  it('CSRF: GET or a simple content type without a preflight header → 400 BAD_REQUEST', async () => {
    const query = encodeURIComponent('{ categories { id } }');
    const body = JSON.stringify({ query: '{ categories { id } }' });
    await expectRefused(
      'CSRF',
      [
        () => send({ method: 'GET', search: `?query=${query}`, headers: {} }),
        () => send({ body, headers: { 'content-type': 'text/plain' } }),
        () => send({ body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        () => send({ body, headers: { 'content-type': 'multipart/form-data; boundary=x' } }),
      ],
      { status: 400, code: 'BAD_REQUEST', message: /Cross-Site Request Forgery/ },
    );
    const preflighted = await send({
      method: 'GET',
      search: `?query=${query}`,
      headers: { 'apollo-require-preflight': 'true' },
    });
    assert.equal(preflighted.status, 200, preflighted.text);
  });

  it('persisted queries: a hash that is not the query’s is refused and never stored; unknown hashes are not found', async () => {
    const wanted = '{ categories { name } }';
    const other = '{ categories { id } }';
    const apq = (hash: string, query?: string) =>
      send({
        body: JSON.stringify({
          ...(query ? { query } : {}),
          extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
        }),
      });
    // Poisoning attempt: store another query under the hash of the one clients will ask for.
    await expectRefused('APQ hash mismatch', [() => apq(sha256(wanted), other), () => apq('0'.repeat(64), other)], {
      status: 400,
      code: 'PERSISTED_QUERY_HASH_MISMATCH',
    });
    await expectRefused('APQ unknown hash', [() => apq(sha256(wanted)), () => apq('not-a-hash')], {
      status: 200,
      code: 'PERSISTED_QUERY_NOT_FOUND',
    });
    // A refused operation is not registered either, so its hash cannot skip the limits later.
    const bomb = `{ products(first: 200) { edges { node { category { products(first: 200) { edges { node { id } } } } } } } }`;
    await expectRefused('APQ of a refused operation', [() => apq(sha256(bomb), bomb)], {
      status: 400,
      code: 'COST_LIMIT_EXCEEDED',
    });
    await expectRefused('APQ of a refused operation', [() => apq(sha256(bomb))], {
      status: 200,
      code: 'PERSISTED_QUERY_NOT_FOUND',
    });
    // The honest registration still works.
    const registered = await apq(sha256(wanted), wanted);
    assert.equal(registered.body.errors, undefined, registered.text);
    const byHash = await apq(sha256(wanted));
    assert.deepEqual(byHash.body, registered.body);
  });

  describe('internal errors behind the gateway', () => {
    let gateway: RunningGateway;
    let fake: Server;
    /** How the stand-in for the products subgraph misbehaves; `proxy` forwards to the real one. */
    let mode: 'proxy' | 'leaky-error' | 'codeless-error' | 'html-500' | 'reset' | 'hang' = 'proxy';

    before(async () => {
      const products = stack.services.products.url;
      fake = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const json = (status: number, body: unknown) =>
            res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
          if (mode === 'leaky-error') {
            return json(200, {
              data: null,
              errors: [
                {
                  message:
                    'PrismaClientKnownRequestError: relation "products"."Product" does not exist at postgres://storefront@10.0.0.5:5432',
                  extensions: {
                    code: 'INTERNAL_SERVER_ERROR',
                    stacktrace: ['Error: boom', '    at Object.findMany (/srv/products/src/data/client.ts:42:7)'],
                  },
                },
              ],
            });
          }
          if (mode === 'codeless-error')
            return json(200, {
              data: null,
              errors: [
                {
                  message:
                    "TypeError: Cannot read properties of undefined (reading 'id') at /srv/products/src/resolvers/index.ts:17",
                },
              ],
            });
          if (mode === 'html-500')
            return res
              .writeHead(500, { 'content-type': 'text/html' })
              .end('<html><body>nginx: upstream 10.0.0.5:4002 failed</body></html>');
          if (mode === 'reset') return req.socket.destroy();
          if (mode === 'hang') return;
          const headers = Object.fromEntries(
            Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
          ) as Record<string, string>;
          void fetch(products, { method: 'POST', headers, body: Buffer.concat(chunks) }).then(async (upstream) => {
            res
              .writeHead(upstream.status, {
                'content-type': upstream.headers.get('content-type') ?? 'application/json',
              })
              .end(await upstream.text());
          });
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/graphql`;
      gateway = await startGateway(
        {
          ...loadGatewayConfig({
            ...stack.env,
            NODE_ENV: 'production',
            GATEWAY_PORT: '0',
            TRAFFIC_SHAPING_CONFIG: trafficFile({
              all: { timeouts: { connect_ms: 1500, request_ms: 1500, total_ms: 1500 } },
            }),
            RESPONSE_CACHE: 'false',
          }),
          subgraphUrls: Object.fromEntries(
            Object.entries(stack.services).map(([name, s]) => [name, name === 'products' ? fakeUrl : s.url]),
          ),
        },
        { logger: createLogger({ name: 'test', level: 'silent' }) },
      );
    });
    after(async () => {
      await gateway?.stop();
      fake?.closeAllConnections();
      await new Promise((resolve) => fake?.close(resolve));
    });

    it('a failing subgraph reaches the client as "Internal server error", or as unavailable / timed out naming only the subgraph', async () => {
      const ask = async () => {
        const res = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: NORMAL }),
        });
        const text = await res.text();
        return { status: res.status, text, body: JSON.parse(text) as Raw['body'] };
      };
      for (const failure of ['leaky-error', 'codeless-error', 'html-500', 'reset', 'hang'] as const) {
        mode = failure;
        const res = await ask();
        assert.equal(res.status, 200, `${failure}: ${res.text}`);
        assert.equal(res.body.data ?? null, null, `${failure}: ${res.text}`);
        assert.ok(res.body.errors?.length, `${failure}: ${res.text}`);
        for (const error of res.body.errors) {
          if (failure === 'reset' || failure === 'hang') {
            // Nothing came back: the client learns which subgraph failed and how, never where it runs.
            assert.equal(
              error.extensions?.code,
              failure === 'reset' ? 'SUBGRAPH_UNAVAILABLE' : 'SUBGRAPH_TIMEOUT',
              `${failure}: ${res.text}`,
            );
            assert.match(error.message, /^Subgraph "products" /, `${failure}: ${res.text}`);
            assert.deepEqual(
              Object.keys(error.extensions ?? {}).sort(),
              ['code', 'requestId', 'serviceName'],
              `${failure}: ${res.text}`,
            );
          } else {
            assert.equal(error.extensions?.code, 'INTERNAL_SERVER_ERROR', `${failure}: ${res.text}`);
            assert.equal(error.message, 'Internal server error', `${failure}: ${res.text}`);
          }
        }
        assertNoLeak(res, { namesSubgraph: failure === 'reset' || failure === 'hang' });
        assert.doesNotMatch(res.text, /10\.0\.0\.5|relation|TypeError|nginx|boom/, `${failure}: ${res.text}`);
        refused.set('internal error masked', (refused.get('internal error masked') ?? 0) + 1);

        mode = 'proxy';
        const healthy = await ask();
        assert.equal(healthy.body.errors, undefined, `after ${failure}: ${healthy.text}`);
        assert.ok((healthy.body.data as { categories: unknown[] }).categories.length > 0);
      }
    });
  });

  it('reports its counts', (t) => {
    const requests = [...refused.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(
      `hostile input: ${refused.size} kinds, ${requests} requests refused with the expected code, 0 leaks, gateway serving after each kind — ` +
        [...refused].map(([kind, n]) => `${kind} ${n}`).join(', '),
    );
  });
});

/** POSTs `chunks` × `size` bytes with chunked transfer encoding: no Content-Length to refuse early on. */
function postChunked(url: string, chunks: number, size: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, body: JSON.parse(text) as Raw['body'] }));
      },
    );
    req.on('error', reject);
    req.write('{"query": "{ __typename }", "pad": "');
    const block = 'x'.repeat(size);
    let sent = 0;
    const pump = () => {
      while (sent < chunks) {
        sent += 1;
        if (!req.write(block)) return void req.once('drain', pump);
      }
      req.end('"}');
    };
    pump();
  });
}
