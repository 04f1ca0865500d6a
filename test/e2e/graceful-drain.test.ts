import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signSubgraphRequest } from '@storefront/platform/auth';
import { eventually, serviceTestEnv, TEST_SECRET, freePort } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * SIGTERM under load loses nothing that was accepted. A service that is told
 * to stop reports unready and keeps serving for SHUTDOWN_DELAY_MS (answering
 * with `Connection: close`, so clients stop reusing connections), then stops
 * accepting, finishes the requests in flight, stops its consumers and
 * publishes what is left in its outbox. The gateway closes its WebSockets
 * with 1012 (Service Restart), which clients retry, once the delay is over.
 *
 * Clients keep sending until the port refuses them; every order stored must
 * have been answered, and every request that failed must have failed by a
 * refused connection (never accepted), not by a reset or a 5xx.
 */
const DELAY_MS = 2_000;

/** A service's own process (`npm run start:<service>`), its output kept for failure messages. */
function startProcess(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Not left behind if a deadline force-exits this test file.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  return { child, exited, output: () => output };
}

async function waitReady(base: string, child: ChildProcess, output: () => string): Promise<void> {
  await eventually(
    async () =>
      child.exitCode !== null ||
      (await fetch(new URL('/readyz', base), { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok,
    120_000,
    `${base} to be ready`,
  );
  assert.equal(child.exitCode, null, output());
}

interface Outcome {
  key: string;
  at: number;
  /** The order id, when answered. */
  id?: string;
  /** What went wrong: the network error's code, an HTTP status or an error code. */
  error?: string;
}

/** Clients placing orders until the port refuses them (or a minute has passed). */
function placeUntilRefused(clients: number, send: (key: string) => Promise<Response>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const until = Date.now() + 60_000;
  const client = async () => {
    while (Date.now() < until) {
      const key = `drain-${randomUUID()}`;
      const at = Date.now();
      try {
        const res = await send(key);
        const body = (await res.json()) as {
          data?: { placeOrder?: { id: string } };
          errors?: { extensions?: { code?: string } }[];
        };
        const id = body.data?.placeOrder?.id;
        outcomes.push(
          id ? { key, at, id } : { key, at, error: body.errors?.[0]?.extensions?.code ?? `HTTP ${res.status}` },
        );
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        outcomes.push({ key, at, error: code });
        if (code === 'ECONNREFUSED') return;
        // A reset in the accept queue as the listener closed: the next attempt finds the port refusing.
      }
    }
  };
  return Promise.all(Array.from({ length: clients }, client)).then(() => outcomes);
}

/** Polls /readyz after the signal: true once it answers 503 (while the port still answers at all). */
async function unreadyBeforeClosing(readyz: string): Promise<boolean> {
  for (;;) {
    const status = await fetch(readyz)
      .then((res) => res.status)
      .catch(() => undefined);
    if (status === undefined) return false;
    if (status === 503) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function storedOrders(databaseUrl: string): Promise<Map<string, string>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string; idempotency_key: string }>(
      `SELECT id, idempotency_key FROM orders.orders WHERE idempotency_key LIKE 'drain-%'`,
    );
    return new Map(rows.map((r) => [r.idempotency_key, r.id]));
  } finally {
    await db.end();
  }
}

/**
 * Nothing accepted was lost: every stored order was answered, every answer was stored; during the
 * delay every request succeeded, and after it requests failed only at the connection: refused, or
 * reset while still in the kernel's accept queue when the listener closed (never read, so never
 * accepted; a client cannot tell that from a lost answer, hence the idempotency keys).
 */
function assertNothingAcceptedLost(
  outcomes: Outcome[],
  stored: Map<string, string>,
  signalledAt: number,
  output: string,
): void {
  const answered = new Map(outcomes.filter((o) => o.id).map((o) => [o.key, o.id!]));
  for (const [key, id] of stored) assert.equal(answered.get(key), id, `${key} was stored as ${id} but never answered`);
  for (const [key, id] of answered) assert.equal(stored.get(key), id, `${key} was answered with ${id} but not stored`);
  const failed = outcomes.filter((o) => o.error);
  assert.deepEqual(
    failed.filter((o) => o.at < signalledAt + DELAY_MS * 0.9).map((o) => o.error),
    [],
    `requests failed during the shutdown delay\n${output}`,
  );
  assert.deepEqual(
    failed
      .filter((o) => o.error !== 'ECONNREFUSED' && o.error !== 'ECONNRESET')
      .map((o) => `${o.error} ${o.at - signalledAt} ms after the signal`),
    [],
    `requests failed other than at the connection\n${output}`,
  );
}

if (process.env.KAFKA_BROKERS && process.env.TEST_DATABASE_URL) {
  describe('graceful drain on SIGTERM', { timeout: 300_000 }, () => {
    it('a subgraph finishes what it accepted, flushes its outbox and exits 0', async () => {
      const env = await serviceTestEnv();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const orders = startProcess('subgraphs/orders/src/main.ts', {
        ...(process.env as Record<string, string>),
        ...env,
        LOG_LEVEL: 'warn',
        ORDERS_PORT: String(port),
        SHUTDOWN_DELAY_MS: String(DELAY_MS),
      });
      try {
        await waitReady(base, orders.child, orders.output);
        // Products it knows of (normally learnt from product events).
        const productIds = [randomUUID(), randomUUID()];
        const db = new pg.Client({ connectionString: env.DATABASE_URL });
        await db.connect();
        await db.query(`INSERT INTO orders.known_products (id, updated_at) SELECT unnest($1::uuid[]), now()`, [
          productIds,
        ]);
        await db.end();

        const identity = { userId: randomUUID(), role: 'CUSTOMER' as const };
        const load = placeUntilRefused(6, (key) => {
          const body = JSON.stringify({
            query: `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
            variables: { input: { items: productIds.map((productId) => ({ productId, quantity: 1 })) }, key },
          });
          return fetch(`${base}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...signSubgraphRequest(TEST_SECRET, body, identity) },
            body,
          });
        });
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const signalledAt = Date.now();
        orders.child.kill('SIGTERM');
        // Out of rotation as soon as the signal is handled, still serving meanwhile.
        const unready = await unreadyBeforeClosing(`${base}/readyz`);
        const outcomes = await load;
        assert.equal(await orders.exited, 0, orders.output());

        assert.ok(unready, '/readyz did not answer 503 before the port closed');
        const servedWhileDraining = outcomes.filter((o) => o.id && o.at > signalledAt + 200).length;
        assert.ok(servedWhileDraining > 0, 'nothing was served during the shutdown delay');
        assertNothingAcceptedLost(outcomes, await storedOrders(env.DATABASE_URL!), signalledAt, orders.output());
        // Its last events went out before it exited, not at its next start.
        const check = new pg.Client({ connectionString: env.DATABASE_URL });
        await check.connect();
        const { rows } = await check.query<{ count: string }>(
          `SELECT count(*) AS count FROM orders.outbox_events WHERE published_at IS NULL`,
        );
        await check.end();
        assert.equal(Number(rows[0]!.count), 0, 'outbox rows left unpublished');
      } finally {
        if (orders.child.exitCode === null) orders.child.kill('SIGKILL');
      }
    });

    describe('the gateway', () => {
      let stack: Stack;
      let productId: string;
      before(async () => {
        stack = await startStack();
        const admin = await stack.logInAdmin();
        await stack.services.products.seed();
        const categories = await stack.query(`{ categories { id } }`);
        const created = await stack.query(
          `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
          {
            input: {
              sku: `DRAIN-${randomUUID().slice(0, 8)}`,
              name: 'Drain test product',
              price: { amount: 1000, currency: 'USD' },
              categoryId: categories.data!.categories[0].id,
              stockLevel: 100_000,
            },
          },
          admin,
        );
        productId = created.data!.createProduct.id;
      });
      after(() => stack?.stop());

      it('keeps serving during the delay, closes WebSockets with 1012 after it, loses no accepted request', async () => {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}/graphql`;
        const users = stack.services.users.url;
        const gateway = startProcess('gateway/src/main.ts', {
          ...(process.env as Record<string, string>),
          ...stack.env,
          LOG_LEVEL: 'warn',
          GATEWAY_PORT: String(port),
          SHUTDOWN_DELAY_MS: String(DELAY_MS),
          JWKS_URL: new URL('/.well-known/jwks.json', users).toString(),
          ...Object.fromEntries(
            Object.values(stack.services).map((s) => [`SUBGRAPH_URL_${s.name.toUpperCase()}`, s.url]),
          ),
        });
        try {
          await waitReady(url, gateway.child, gateway.output);
          const customer = await stack.signUp('Drain Customer');
          const send = (key: string) =>
            fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}` },
              body: JSON.stringify({
                query: `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
                variables: { input: { items: [{ productId, quantity: 1 }] }, key },
              }),
            });
          // Orders learns of the new product over the bus; then an order of it goes through the gateway process.
          const first = await eventually(
            async () => {
              const res = await send(`warm-up-${randomUUID()}`);
              return ((await res.json()) as { data?: { placeOrder?: { id: string } } }).data?.placeOrder?.id;
            },
            60_000,
            'an order through the gateway process',
          );

          // A client following that order over WebSocket, as an order page does.
          const socket = createClient({
            url: url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${customer.token}` },
            retryAttempts: 0,
          });
          let closedWith: { code: number; at: number } | undefined;
          socket.on('closed', (event) => (closedWith ??= { code: (event as { code: number }).code, at: Date.now() }));
          const opened = new Promise<void>((resolve) => socket.on('connected', () => resolve()));
          socket.subscribe(
            {
              query: `subscription($id: ID!) { orderStatusChanged(orderId: $id, after: 1) { version } }`,
              variables: { id: first },
            },
            { next: () => {}, error: () => {}, complete: () => {} },
          );
          await opened;

          const load = placeUntilRefused(6, send);
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          const signalledAt = Date.now();
          gateway.child.kill('SIGTERM');
          const unready = await unreadyBeforeClosing(new URL('/readyz', url).toString());
          const outcomes = await load;
          assert.equal(await gateway.exited, 0, gateway.output());
          await socket.dispose();

          assert.ok(unready, '/readyz did not answer 503 before the port closed');
          assert.ok(
            outcomes.some((o) => o.id && o.at > signalledAt + 200),
            'nothing was served during the delay',
          );
          assert.equal(closedWith?.code, 1012, `socket closed with ${JSON.stringify(closedWith)}`);
          assert.ok(closedWith.at - signalledAt >= DELAY_MS * 0.9, 'the socket was closed before the delay was over');
          assertNothingAcceptedLost(
            outcomes,
            await storedOrders(stack.env.DATABASE_URL!),
            signalledAt,
            gateway.output(),
          );
        } finally {
          if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
        }
      });
    });
  });
}
