import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { auditServer } from 'graphql-http';
import WebSocket from 'ws';
import { signSubgraphRequest } from '@storefront/platform/auth';
import { PUBLIC_ERROR_CODES } from '@storefront/platform/errors';
import { TEST_SECRET } from '@storefront/platform/testing';
import { connectGateway } from '../support/gateway-socket.ts';
import { rawExchange, type RawExchange } from '../support/raw-http.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { graphqlBody, graphqlWsMessage, rawHttpRequest, rawUpgradeRequest } from './fuzz-inputs.ts';

/**
 * Property-based fuzzing of the HTTP and WebSocket edge of the gateway and of
 * a subgraph (signed and unsigned), against the real processes' code on
 * PostgreSQL, Redis and Kafka. For every generated input: the process stays
 * alive (an uncaught exception here would end this test process), every
 * answer is a well-formed HTTP response or WebSocket close with a status,
 * code or close code the README documents, no answer carries a stack trace or
 * an internal message, and a normal query still answers afterwards.
 *
 * Bounded: FUZZ_RUNS runs per property (default 60), from FUZZ_SEED (default:
 * random, printed). A failure prints the seed and the shrunk input; run it
 * again with `FUZZ_SEED=<seed> npm test -- test/edge/fuzz.test.ts`. Inputs
 * that once broke a process are kept in corpus.json and replayed every run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const options = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;
console.log(`fuzz: seed ${SEED}, ${RUNS} runs per property (repeat with FUZZ_SEED=${SEED})`);

/** The README's tables of refusals and close codes: what a client may meet. */
function documented(): { statuses: Map<number, Set<string>>; closeCodes: Set<number> } {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = (name: string) => readme.split(`<!-- ${name}:start -->`)[1]!.split(`<!-- ${name}:end -->`)[0]!;
  const statuses = new Map<number, Set<string>>();
  for (const [, status, code] of section('refusals').matchAll(/^\| (\d{3}) \| `([A-Z_]+)` \|/gm)) {
    const codes = statuses.get(Number(status)) ?? new Set<string>();
    statuses.set(Number(status), codes.add(code!));
  }
  const closeCodes = new Set([...section('close-codes').matchAll(/^\| (\d{4}) \|/gm)].map((m) => Number(m[1])));
  return { statuses, closeCodes };
}
const { statuses: REFUSALS, closeCodes: CLOSE_CODES } = documented();
/** Answers that are not refusals: served, no content (CORS preflight), not modified, redirected (GET / to GraphiQL). */
const SERVED = new Set([200, 204, 302, 304, 101]);

/** Anything that looks like a leaked internal: a stack frame, a source path, a JS error name. */
const INTERNALS =
  /\n\s+at |node_modules|\.ts:\d+|\b(TypeError|ReferenceError|RangeError|SyntaxError: Unexpected)\b|prisma|ECONN|Cannot read prop/i;

function assertDocumentedAnswer(exchange: RawExchange, where: string, head = false): void {
  const { response, received } = exchange;
  if (head) {
    // An answer to HEAD has headers only (its content-length describes a body it does not send).
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1]);
    assert.ok(SERVED.has(status) || REFUSALS.has(status), `${where}: status ${status}: ${received.slice(0, 300)}`);
    assert.doesNotMatch(received, INTERNALS, `${where}: leaks an internal`);
    return;
  }
  assert.ok(response, `${where}: not a complete HTTP response: ${JSON.stringify(received.slice(0, 300))}`);
  const { status, body } = response;
  assert.ok(
    SERVED.has(status) || REFUSALS.has(status),
    `${where}: undocumented status ${status}: ${body.slice(0, 300)}`,
  );
  assert.doesNotMatch(received, INTERNALS, `${where}: leaks an internal`);
  if (status >= 400) {
    const code = (JSON.parse(body) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code;
    assert.ok(
      REFUSALS.get(status)?.has(code!),
      `${where}: ${status} with undocumented code ${code}: ${body.slice(0, 300)}`,
    );
  }
}

/** A GraphQL answer (2xx/4xx JSON): every error code is a public one, and none is INTERNAL_SERVER_ERROR. */
function assertPublicErrors(status: number, text: string, where: string): void {
  assert.ok(
    SERVED.has(status) || REFUSALS.has(status),
    `${where}: undocumented status ${status}: ${text.slice(0, 300)}`,
  );
  assert.doesNotMatch(text, INTERNALS, `${where}: leaks an internal`);
  if (!text.startsWith('{')) return; // GraphiQL's page, an empty 204
  const answer = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
  for (const error of answer.errors ?? []) {
    const code = error.extensions?.code ?? '';
    assert.ok(PUBLIC_ERROR_CODES.has(code), `${where}: error code ${code}: ${text.slice(0, 400)}`);
  }
}

describe('fuzzing the HTTP and WebSocket edge', { timeout: 600_000 }, () => {
  let stack: Stack;
  let targets: { name: string; url: string }[];

  async function assertStillServing(): Promise<void> {
    const res = await stack.query('{ categories { id } }');
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.errors, undefined, JSON.stringify(res));
    const socket = connectGateway(stack.gateway);
    await socket.acknowledged;
    await socket.close();
    for (const service of Object.values(stack.services)) {
      assert.equal((await fetch(new URL('/healthz', service.url))).status, 200, service.name);
    }
  }

  before(async () => {
    stack = await startStack();
    targets = [
      { name: 'gateway', url: stack.gateway.url },
      { name: 'products', url: stack.services.products.url },
    ];
  });
  after(() => stack?.stop());

  it('replays the corpus of inputs that once broke a process', async () => {
    const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8')) as {
      name: string;
      request: string;
      expect: Record<string, [status: number, code: string]>;
    }[];
    for (const entry of corpus) {
      for (const { name, url } of targets) {
        const exchange = await rawExchange(url, Buffer.from(entry.request, 'utf8'));
        const where = `${entry.name} at ${name}`;
        assertDocumentedAnswer(exchange, where);
        const [status, code] = entry.expect[name]!;
        assert.equal(exchange.response?.status, status, where);
        assert.match(exchange.response?.body ?? '', new RegExp(`"code":"${code}"`), where);
      }
    }
    await assertStillServing();
  });

  it('raw HTTP requests: a documented answer, no internals', async () => {
    await fc.assert(
      fc.asyncProperty(rawHttpRequest, fc.constantFrom(0, 1), async (request, which) => {
        const { name, url } = targets[which]!;
        assertDocumentedAnswer(
          await rawExchange(url, request),
          `${name} ${JSON.stringify(request.toString('latin1').slice(0, 200))}`,
          request.toString('latin1').startsWith('HEAD '),
        );
      }),
      options,
    );
    await assertStillServing();
  });

  it('GraphQL bodies at the gateway: public error codes only, never an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(graphqlBody, async (body) => {
        const text = JSON.stringify(body);
        const res = await fetch(stack.gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
        assertPublicErrors(res.status, await res.text(), `gateway ${text.slice(0, 300)}`);
      }),
      options,
    );
    await assertStillServing();
  });

  it('GraphQL bodies at a subgraph, signed and unsigned: public error codes only', async () => {
    await fc.assert(
      fc.asyncProperty(graphqlBody, fc.boolean(), async (body, signed) => {
        const text = JSON.stringify(body);
        const identity = { userId: 'fuzz-user', role: 'CUSTOMER' as const };
        const res = await fetch(stack.services.products.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(signed ? signSubgraphRequest(TEST_SECRET, text, identity) : {}),
          },
          body: text,
        });
        const answer = await res.text();
        assertPublicErrors(res.status, answer, `products (${signed ? 'signed' : 'unsigned'}) ${text.slice(0, 300)}`);
        if (!signed) assert.equal(res.status, 401, answer);
      }),
      options,
    );
    await assertStillServing();
  });

  it('WebSocket upgrade requests: 101 or a documented refusal', async () => {
    await fc.assert(
      fc.asyncProperty(rawUpgradeRequest, fc.constantFrom(0, 1), async (request, which) => {
        const { name, url } = targets[which]!;
        const exchange = await rawExchange(url, request, { keepAlive: true, timeoutMs: 3_000 });
        assertDocumentedAnswer(exchange, `${name} ${JSON.stringify(request.slice(0, 200))}`);
      }),
      options,
    );
    await assertStillServing();
  });

  it('graphql-ws messages: the socket answers or closes with a documented code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(graphqlWsMessage, { minLength: 1, maxLength: 6 }), async (messages) => {
        const where = JSON.stringify(messages.map(String)).slice(0, 400);
        const socket = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
        const received: string[] = [];
        socket.on('message', (data) => received.push(String(data)));
        const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('open', resolve));
        for (const message of messages) socket.send(message);
        const code = await Promise.race([
          closed,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500)),
        ]);
        if (code !== undefined) assert.ok(CLOSE_CODES.has(code), `${where}: undocumented close code ${code}`);
        for (const text of received) {
          assert.doesNotMatch(text, INTERNALS, `${where}: leaks an internal`);
          const message = JSON.parse(text) as { type: string; payload?: unknown };
          if (message.type === 'error') {
            for (const error of message.payload as { extensions?: { code?: string } }[]) {
              assert.ok(PUBLIC_ERROR_CODES.has(error.extensions?.code ?? ''), `${where}: ${text.slice(0, 300)}`);
            }
          }
        }
        socket.terminate();
      }),
      options,
    );
    await assertStillServing();
  });

  it('passes the GraphQL over HTTP audits (graphql-http) at the gateway and at a signed subgraph', async () => {
    // The three SHOULDs the adapter departs from on purpose: with `application/json`, Apollo Server answers a
    // document that does not parse or validate, or variables that do not coerce, with 400 (it is not run).
    const accepted = new Set(['572B', 'FDE2', '7B9B']);
    const signedFetch: typeof fetch = (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const headers = new Headers(init?.headers);
      for (const [key, value] of Object.entries(signSubgraphRequest(TEST_SECRET, body, null))) headers.set(key, value);
      return fetch(input, { ...init, headers });
    };
    for (const [name, url, fetchFn] of [
      ['gateway', stack.gateway.url, fetch],
      ['products', stack.services.products.url, signedFetch],
    ] as const) {
      const results = await auditServer({ url, fetchFn });
      const failed = results.filter((r) => r.status === 'error' || (r.status === 'warn' && !accepted.has(r.id)));
      assert.deepEqual(
        failed.map((r) => `${r.id} ${r.name}: ${'reason' in r ? r.reason : ''}`),
        [],
        `${name}: audits not passed`,
      );
    }
  });
});
