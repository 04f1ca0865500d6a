import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase } from '@storefront/platform/testing';
import { buildAll } from '../../../scripts/build.ts';
import { startTestSmtpServer, type TestSmtpServer } from '@storefront/notifications/testing';
import { generateSigningJwk } from '@storefront/users';
import {
  checkNotifications,
  checkOrders,
  checkStock,
  checkStuck,
  checkWatches,
  readSnapshot,
  unsettled,
  type Check,
  type Snapshot,
} from './audit.ts';
import { faultPorts, startBackends, type Backends } from './backends.ts';
import { runChaos, type Kill } from './chaos.ts';
import { GatewayClient } from './client.ts';
import { Shop } from './customers.ts';
import { seededRandom, suiteSeed } from './random.ts';
import { ServiceProcess, type ServiceName } from './supervisor.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

/**
 * The fault suite's run: real PostgreSQL (the test server), a Kafka broker
 * and a Redis of its own, every service its own process from its compiled
 * entry as deployed (NODE_ENV=production, one URL per subgraph, a real SMTP
 * server), shoppers placing, paying and cancelling orders while every
 * process and backend is killed with kill -9 and started again; then the
 * system is left to settle and audited.
 */
export interface Settings {
  seed: number;
  orders: number;
  customers: number;
  rounds: number;
}

export interface ScenarioResult {
  settings: Settings;
  kills: Kill[];
  shop: Shop;
  snapshot: Snapshot;
  checks: Check[];
  /** Phase durations, ms. */
  phases: { setup: number; load: number; settle: number };
  /** Services' exit codes on the final SIGTERM (0: their ordered shutdown finished). */
  exitCodes: Record<ServiceName, number | null>;
  /** Processes that exited without being asked to. */
  unaskedExits: string[];
  logDir: string;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const count = (key: string, fallback: number, min: number) => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${key} must be a whole number ≥ ${min}, got "${raw}"`);
    return value;
  };
  return {
    seed: suiteSeed(),
    orders: count('FAULTS_ORDERS', 500, 1),
    customers: count('FAULTS_CUSTOMERS', 24, 1),
    rounds: count('FAULTS_ROUNDS', 1, 1),
  };
}

const SERVICES: ServiceName[] = ['users', 'products', 'orders', 'notifications', 'gateway'];
/** Consumer groups each service joins (service/consumers.ts logs each), to tell when the last one has. */
const CONSUMER_GROUPS: Record<ServiceName, number> = { users: 0, products: 1, orders: 1, notifications: 3, gateway: 0 };

export async function runScenario(settings: Settings, log: (line: string) => void): Promise<ScenarioResult> {
  const t0 = Date.now();
  const random = seededRandom(settings.seed);
  const ports = faultPorts();
  const teardown: (() => Promise<unknown>)[] = [];
  const processes = {} as Record<ServiceName, ServiceProcess>;
  let backends: Backends | undefined;
  let smtp: TestSmtpServer | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'storefront-faults-'));
  try {
    log(`logs in ${logDir}`);
    [backends] = await Promise.all([startBackends(ports), buildAll({ logLevel: 'silent' })]);
    teardown.push(() => backends!.stop());
    const databaseUrl = await createTestDatabase();
    if (!databaseUrl)
      throw new Error('TEST_DATABASE_URL: the fault suite needs the test PostgreSQL (npm test starts it)');
    smtp = await startTestSmtpServer();
    teardown.push(() => smtp!.close());

    const adminPassword = randomBytes(12).toString('hex');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: backends.kafkaBrokers,
      SUBGRAPH_SECRET: randomBytes(24).toString('hex'),
      JWT_SIGNING_KEYS: JSON.stringify([await generateSigningJwk()]),
      // The lowest cost the users service accepts: sign-ups are not what this suite measures.
      PASSWORD_HASH_COST: '10',
      SEED_ADMIN_EMAIL: 'admin@faults.example',
      SEED_ADMIN_PASSWORD: adminPassword,
      SMTP_URL: smtp.url,
      GATEWAY_PORT: String(ports.gateway),
      USERS_PORT: String(ports.users),
      PRODUCTS_PORT: String(ports.products),
      ORDERS_PORT: String(ports.orders),
      NOTIFICATIONS_PORT: String(ports.notifications),
      // As deployed on Kubernetes (deploy/k8s/gateway.yaml): a prebuilt supergraph, one URL per subgraph.
      SUPERGRAPH_SDL: 'supergraph.graphql',
      JWKS_URL: `http://127.0.0.1:${ports.users}/.well-known/jwks.json`,
      REDIS_URL: backends.redisUrl,
      TRUST_PROXY_HOPS: '1',
      ...Object.fromEntries(
        (['users', 'products', 'orders', 'notifications'] as const).map((name) => [
          `SUBGRAPH_URL_${name.toUpperCase()}`,
          `http://127.0.0.1:${ports[name]}/graphql`,
        ]),
      ),
    };
    // The image's seed task: the admin account (and the demo catalog), announced on Kafka.
    await run(process.execPath, ['dist/seed.js'], { cwd: ROOT, env });
    for (const name of SERVICES) {
      processes[name] = new ServiceProcess(name, ports[name], env, logDir, ROOT);
      processes[name].expectConsumers(CONSUMER_GROUPS[name]);
      teardown.push(async () => processes[name].close());
    }
    await Promise.all(SERVICES.filter((s) => s !== 'gateway').map((name) => processes[name].start()));
    await processes.gateway.start();
    const gatewayUrl = processes.gateway.url;

    const products = await createCatalog(gatewayUrl, env.SEED_ADMIN_EMAIL!, adminPassword, random, databaseUrl);
    log(`catalog: ${products.size} products, ${[...products.values()].reduce((a, p) => a + p.stock, 0)} units`);
    const setup = Date.now() - t0;

    // Load: the shoppers' pace spreads the orders over about as long as the kills take.
    const expectedChaosMs = settings.rounds * 7 * 12_000;
    const shop = new Shop({
      gatewayUrl,
      products: [...products.keys()].map((id) => ({ id })),
      target: settings.orders,
      paceMs: (expectedChaosMs * settings.customers) / settings.orders,
      watchShare: 0.25,
      callDeadlineMs: 120_000,
    });
    const loadStart = Date.now();
    let chaosOver = false;
    const customers = Promise.all(
      Array.from({ length: settings.customers }, (_, i) =>
        shop.customer(i, random.fork(`customer ${i}`), () => !chaosOver),
      ),
    );
    const kills = await runChaos({
      random: random.fork('chaos'),
      rounds: settings.rounds,
      processes,
      backends,
      gapMs: [3_000, 8_000],
      downMs: [2_000, 5_000],
      log,
    }).finally(() => (chaosOver = true));
    await customers;
    await shop.settled();
    const load = Date.now() - loadStart;
    log(`load over: ${shop.orders.length} orders in ${(load / 1000).toFixed(0)} s; settling`);

    const settleStart = Date.now();
    const watches = shop.orders.flatMap((o) => (o.watch ? [o.watch] : []));
    let snapshot = await readSnapshot(databaseUrl);
    let lastLog = Date.now();
    for (let reasons = unsettled(snapshot, watches); reasons.length > 0; reasons = unsettled(snapshot, watches)) {
      if (Date.now() - settleStart > 180_000) {
        log(`not settled after 180 s: ${reasons.join('; ')}`);
        break;
      }
      if (Date.now() - lastLog > 10_000) {
        log(`settling: ${reasons.join('; ')}`);
        lastLog = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      snapshot = await readSnapshot(databaseUrl);
    }
    await shop.closeWatchers();
    const settle = Date.now() - settleStart;

    const checks = [
      checkOrders(snapshot, shop.orders),
      checkStuck(snapshot),
      checkStock(snapshot, new Map([...products].map(([id, p]) => [id, p.stock]))),
      checkNotifications(snapshot, smtp.messages),
      checkWatches(snapshot, watches),
    ];
    const exitCodes = {} as Record<ServiceName, number | null>;
    // The gateway first, as a rollout would: then the subgraphs, each through its ordered shutdown.
    exitCodes.gateway = await processes.gateway.stop();
    await Promise.all(
      SERVICES.filter((s) => s !== 'gateway').map(async (name) => (exitCodes[name] = await processes[name].stop())),
    );
    const unaskedExits = SERVICES.flatMap((name) =>
      processes[name].starts.flatMap((start) =>
        start.exitedUnasked
          ? [`${name} exited (code ${start.exitedUnasked.code}, signal ${start.exitedUnasked.signal})`]
          : [],
      ),
    );
    return {
      settings,
      kills,
      shop,
      snapshot,
      checks,
      phases: { setup, load, settle },
      exitCodes,
      unaskedExits,
      logDir,
    };
  } finally {
    for (const name of SERVICES) await processes[name]?.kill().catch(() => {});
    for (const step of teardown.reverse()) await step().catch((error: unknown) => log(`teardown: ${String(error)}`));
  }
}

/** The suite's own products, with stock scarce enough that some orders are turned down late in the run. */
async function createCatalog(
  gatewayUrl: string,
  email: string,
  password: string,
  random: ReturnType<typeof seededRandom>,
  databaseUrl: string,
): Promise<Map<string, { stock: number }>> {
  const client = new GatewayClient(gatewayUrl, '10.255.0.1', () => random.between(0, 1));
  const until = Date.now() + 60_000;
  const login = await client.call<{ logIn: { accessToken: string } }>(
    'logIn',
    `mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { accessToken } }`,
    { e: email, p: password },
    { until },
  );
  const token = login.data!.logIn.accessToken;
  const category = await client.call<{ createCategory: { id: string } }>(
    'createCategory',
    `mutation($name: String!) { createCategory(name: $name) { id } }`,
    { name: `Fault suite ${random.seed}` },
    { token, until },
  );
  const products = new Map<string, { stock: number }>();
  for (let i = 0; i < 8; i++) {
    const stock = random.int(60, 240);
    const created = await client.call<{ createProduct: { id: string } }>(
      'createProduct',
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
      {
        input: {
          sku: `FAULT-${random.seed}-${i}`,
          name: `Fault suite product ${i}`,
          price: { amount: random.int(100, 10_000), currency: 'EUR' },
          categoryId: category.data!.createCategory.id,
          stockLevel: stock,
        },
      },
      { token, until },
    );
    products.set(created.data!.createProduct.id, { stock });
  }
  // Orders learns of products from their events; an order for one it has not heard of yet is refused.
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    for (;;) {
      const { rows } = await db.query<{ count: string }>(
        `SELECT count(*) AS count FROM orders.known_products WHERE id = ANY($1::uuid[])`,
        [[...products.keys()]],
      );
      if (Number(rows[0]!.count) === products.size) break;
      if (Date.now() > until) throw new Error('orders did not learn of the new products within a minute');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await db.end();
  }
  return products;
}
