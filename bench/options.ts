import { env, loadConfig } from '@storefront/platform/config';
import { z } from 'zod';

/**
 * The bench's settings: environment variables, or the same as flags
 * (`npm run bench -- --duration=5 --rounds=1 --profile`). Read once; a bad
 * value stops the bench with a message naming the key and its flag.
 *
 * `--mix` switches to the realistic open-loop mix (bench/mix/): many
 * customers, a weighted mix of operations at a constant arrival rate, and a
 * search for the highest rate each gateway sustains.
 *
 * `--subscriptions` switches to subscriptions at scale (bench/subscriptions/):
 * many orderStatusChanged subscriptions into one gateway process of ours,
 * with orders changing status at a steady rate.
 */
export const GATEWAY_IDS = ['ours-off', 'ours-on', 'ours-noshare', 'stock', 'hive'] as const;
export type GatewayId = (typeof GATEWAY_IDS)[number];
export const QUERY_IDS = ['a', 'b', 'c', 'd', 'w'] as const;
/** The queries `npm run bench` runs unless told otherwise (d, the product page, is the services bench's; w, the wide answer, the gateway bench's). */
export const DEFAULT_QUERY_IDS: QueryId[] = ['a', 'b', 'c'];
export type QueryId = (typeof QUERY_IDS)[number];

const subsetOf = <T extends string>(all: readonly T[], defaults: readonly T[] = all) =>
  env
    .list()
    .pipe(
      z.array(z.enum(all as unknown as [T, ...T[]], { error: `must be a comma-separated list of: ${all.join(', ')}` })),
    )
    .default([...defaults]);

const percent = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be between 0 and 100' })
    .max(100, { error: 'must be between 0 and 100' })
    .default(fallback);
const positive = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' }).default(fallback);
const atLeast = (fallback: number, min: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .default(fallback);

const optionsSchema = z.object({
  /** Seconds of load per gateway per query per round. */
  BENCH_DURATION_SECONDS: env.int(10, 1),
  /** Alternating rounds; the report shows the median over rounds. */
  BENCH_ROUNDS: env.int(3, 1),
  /** Concurrent connections of the load generator (the targets are stated at 50). */
  BENCH_CONNECTIONS: env.int(50, 1),
  /**
   * Requests per second each gateway is offered (`npm run bench:tracing`, `bench:gateway`, which measure gateways
   * side by side); 0: as fast as they answer.
   */
  BENCH_FIXED_RATE: z.coerce.number({ error: 'must be a number' }).min(0, { error: 'must be 0 or more' }).default(0),
  /** Seconds of unmeasured load per gateway per query before round 1 (JIT, plan caches, pools). */
  BENCH_WARMUP_SECONDS: env.int(3, 0),
  /** How services run: `compiled` (npm run build, then node), `tsx` (TypeScript loader), `auto` (compiled when the build succeeds). */
  BENCH_RUNTIME: z.enum(['auto', 'compiled', 'tsx'], { error: 'must be auto, compiled or tsx' }).default('auto'),
  /** Which gateways and queries to run (all by default); a subset is for quick looks, not for the report. */
  BENCH_GATEWAYS: subsetOf(GATEWAY_IDS),
  BENCH_QUERIES: subsetOf(QUERY_IDS, DEFAULT_QUERY_IDS),
  /** Profile our gateway (cache off) with --cpu-prof and print where its time goes; forces one round. */
  BENCH_PROFILE: env.bool(false),
  /** Subgraphs listen on BASE+1…+4, gateways on BASE+10…+14, the seeding gateway on BASE+9. */
  BENCH_PORT_BASE: z.coerce.number().int().min(1024).max(65_000).default(14_400),
  /** PostgreSQL, Redis and Kafka of the bench: own ports and state dir, so a test run is never disturbed. */
  BENCH_SERVICES_DIR: z.string().default('/tmp/storefront-bench-services'),
  BENCH_PG_PORT: env.port(54_349),
  BENCH_REDIS_PORT: env.port(63_749),
  BENCH_KAFKA_PORT: env.port(19_492),
  /** Where RESULTS.md and results.json go. */
  BENCH_OUTPUT_DIR: z.string().default('bench'),

  /** The realistic open-loop mix instead of the three fixed queries (bench/mix/). */
  BENCH_MIX: env.bool(false),
  /** Distinct signed-in customers, each with a token and an order history of their own. */
  BENCH_MIX_CUSTOMERS: atLeast(1000, 1),
  /** Orders seeded per customer (about half of them CONFIRMED, so the mix can pay them). */
  BENCH_MIX_ORDERS_PER_CUSTOMER: atLeast(10, 1),
  /** Catalog size added for the mix (on top of the demo catalog), and its categories. */
  BENCH_MIX_PRODUCTS: atLeast(500, 1),
  BENCH_MIX_CATEGORIES: atLeast(25, 1),
  /** Zipf exponent of product and category popularity (1 = classic Zipf; larger = more skewed). */
  BENCH_MIX_ZIPF: positive(1),
  /** Share of requests that are placeOrder, and that are payOrder, in percent. */
  BENCH_MIX_PLACE_ORDER_PERCENT: percent(4),
  BENCH_MIX_PAY_PERCENT: percent(2),
  /** Open orderStatusChanged subscriptions during each step (graphql-ws, one socket per customer). */
  BENCH_MIX_OPEN_SUBSCRIPTIONS: atLeast(200, 0),
  /** Arrival rate (requests per second) of the first step, and the highest the search tries. */
  BENCH_MIX_START_RATE: positive(50),
  BENCH_MIX_MAX_RATE: positive(5000),
  /** Seconds at each rate of the search. */
  BENCH_MIX_STEP_SECONDS: atLeast(15, 1),
  /** A rate is sustained when its p99 latency is at most this (and nothing failed). */
  BENCH_MIX_P99_MS: positive(100),
  /** The search stops when the highest sustained and the lowest failed rate are this close (0.1 = 10%). */
  BENCH_MIX_PRECISION: z.coerce
    .number({ error: 'must be a number' })
    .gt(0, { error: 'must be between 0 and 1 (exclusive)' })
    .lt(1, { error: 'must be between 0 and 1 (exclusive)' })
    .default(0.1),
  /** Connections the open-loop generator may open to a gateway (requests beyond them wait, and that wait counts). */
  BENCH_MIX_CONNECTIONS: atLeast(256, 1),

  /**
   * `npm run bench:services`: requests a second offered to the gateway per query, constant (open model): moderate,
   * so the two cores are not saturated (CPU per request inflates under saturation).
   */
  BENCH_SERVICES_RATE: positive(40),
  /** Under which name `npm run bench:services` keeps this run's figures (`before`, `after`, …; the table shows each). */
  BENCH_SERVICES_LABEL: z
    .string()
    .regex(/^[\w-]{1,20}$/, { error: 'must be 1–20 letters, digits, - or _' })
    .default('after'),

  /** Subscriptions at scale instead of the three fixed queries (bench/subscriptions/): our gateway only. */
  BENCH_SUBSCRIPTIONS: env.bool(false),
  /** orderStatusChanged subscriptions open at once in the one gateway process. */
  BENCH_SUBS_TOTAL: atLeast(10_000, 1),
  /** Subscriptions on each socket: one socket per customer's app, watching a few of their orders. */
  BENCH_SUBS_PER_SOCKET: atLeast(4, 1),
  /**
   * Status changes a second (payOrder, shipOrder, deliverOrder), each one event to one subscription: 20 is
   * 72,000 an hour, a busy warehouse. Each change costs the services ~30 ms of CPU (the mutation, the relay,
   * the consumers, the notification), so on two cores much more measures the services' backlog, not the gateway.
   */
  BENCH_SUBS_EVENT_RATE: positive(20),
  /** Seconds of changes measured. */
  BENCH_SUBS_SECONDS: atLeast(60, 1),
  /** Seconds with every subscription open and nothing happening, for the gateway's idle CPU (0: skip). */
  BENCH_SUBS_IDLE_SECONDS: atLeast(10, 0),
});

export type BenchOptions = z.infer<typeof optionsSchema>;

const FLAGS: Record<string, keyof BenchOptions> = {
  duration: 'BENCH_DURATION_SECONDS',
  rounds: 'BENCH_ROUNDS',
  connections: 'BENCH_CONNECTIONS',
  warmup: 'BENCH_WARMUP_SECONDS',
  'fixed-rate': 'BENCH_FIXED_RATE',
  runtime: 'BENCH_RUNTIME',
  gateways: 'BENCH_GATEWAYS',
  queries: 'BENCH_QUERIES',
  profile: 'BENCH_PROFILE',
  output: 'BENCH_OUTPUT_DIR',
  mix: 'BENCH_MIX',
  customers: 'BENCH_MIX_CUSTOMERS',
  'orders-per-customer': 'BENCH_MIX_ORDERS_PER_CUSTOMER',
  products: 'BENCH_MIX_PRODUCTS',
  categories: 'BENCH_MIX_CATEGORIES',
  zipf: 'BENCH_MIX_ZIPF',
  'place-order-percent': 'BENCH_MIX_PLACE_ORDER_PERCENT',
  'pay-percent': 'BENCH_MIX_PAY_PERCENT',
  'open-subscriptions': 'BENCH_MIX_OPEN_SUBSCRIPTIONS',
  rate: 'BENCH_MIX_START_RATE',
  'max-rate': 'BENCH_MIX_MAX_RATE',
  'step-seconds': 'BENCH_MIX_STEP_SECONDS',
  'p99-ms': 'BENCH_MIX_P99_MS',
  precision: 'BENCH_MIX_PRECISION',
  'mix-connections': 'BENCH_MIX_CONNECTIONS',
  subscriptions: 'BENCH_SUBSCRIPTIONS',
  'subscription-count': 'BENCH_SUBS_TOTAL',
  'per-socket': 'BENCH_SUBS_PER_SOCKET',
  'event-rate': 'BENCH_SUBS_EVENT_RATE',
  'event-seconds': 'BENCH_SUBS_SECONDS',
  'idle-seconds': 'BENCH_SUBS_IDLE_SECONDS',
  'services-rate': 'BENCH_SERVICES_RATE',
  label: 'BENCH_SERVICES_LABEL',
};

/** The gateways the mix compares unless told otherwise: ours as it ships (response cache on) and the two peers. */
export const MIX_GATEWAYS: GatewayId[] = ['ours-on', 'stock', 'hive'];
/** Our gateway's default WS_MAX_OPERATIONS: operations one socket may hold open (gateway/src/subscriptions/config.ts). */
export const GATEWAY_WS_MAX_OPERATIONS = 20;

/** Settings that are each fine alone but impossible together; each problem names its key. */
function crossCheck(options: BenchOptions): string[] {
  const problems: string[] = [];
  if (options.BENCH_MIX_PLACE_ORDER_PERCENT + options.BENCH_MIX_PAY_PERCENT > 100)
    problems.push(
      `BENCH_MIX_PLACE_ORDER_PERCENT: placeOrder (${options.BENCH_MIX_PLACE_ORDER_PERCENT}%) and payOrder (BENCH_MIX_PAY_PERCENT, ${options.BENCH_MIX_PAY_PERCENT}%) together exceed 100%`,
    );
  if (options.BENCH_MIX_START_RATE > options.BENCH_MIX_MAX_RATE)
    problems.push(
      `BENCH_MIX_START_RATE: the first rate (${options.BENCH_MIX_START_RATE}/s) is above BENCH_MIX_MAX_RATE (${options.BENCH_MIX_MAX_RATE}/s)`,
    );
  if (options.BENCH_MIX_CATEGORIES > options.BENCH_MIX_PRODUCTS)
    problems.push(
      `BENCH_MIX_CATEGORIES: ${options.BENCH_MIX_CATEGORIES} categories for ${options.BENCH_MIX_PRODUCTS} products (BENCH_MIX_PRODUCTS) leaves some empty`,
    );
  if (options.BENCH_MIX_OPEN_SUBSCRIPTIONS > options.BENCH_MIX_CUSTOMERS)
    problems.push(
      `BENCH_MIX_OPEN_SUBSCRIPTIONS: ${options.BENCH_MIX_OPEN_SUBSCRIPTIONS} subscriptions, one per customer, but only ${options.BENCH_MIX_CUSTOMERS} customers (BENCH_MIX_CUSTOMERS)`,
    );
  if (options.BENCH_SUBS_PER_SOCKET > GATEWAY_WS_MAX_OPERATIONS)
    problems.push(
      `BENCH_SUBS_PER_SOCKET: ${options.BENCH_SUBS_PER_SOCKET} subscriptions on one socket, but our gateway allows ${GATEWAY_WS_MAX_OPERATIONS} operations per connection (WS_MAX_OPERATIONS); an app needs a handful`,
    );
  if (options.BENCH_SUBS_PER_SOCKET > options.BENCH_SUBS_TOTAL)
    problems.push(
      `BENCH_SUBS_PER_SOCKET: ${options.BENCH_SUBS_PER_SOCKET} subscriptions per socket is more than all of them (BENCH_SUBS_TOTAL, ${options.BENCH_SUBS_TOTAL})`,
    );
  if (options.BENCH_SUBS_EVENT_RATE > options.BENCH_SUBS_TOTAL)
    problems.push(
      `BENCH_SUBS_EVENT_RATE: ${options.BENCH_SUBS_EVENT_RATE} changes a second for ${options.BENCH_SUBS_TOTAL} subscriptions (BENCH_SUBS_TOTAL): an order changes status a few times in its life, not every second`,
    );
  return problems;
}

/** `KEY: message` → `KEY (--flag): message`, so a message names what the user typed either way. */
function withFlags(message: string): string {
  let out = message;
  for (const [flag, key] of Object.entries(FLAGS)) out = out.replaceAll(`${key}:`, `${key} (--${flag}):`);
  return out;
}

export function loadBenchOptions(
  argv: string[],
  source: Record<string, string | undefined> = process.env,
): BenchOptions {
  const fromFlags: Record<string, string> = {};
  for (const arg of argv) {
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const key = match && FLAGS[match[1]!];
    if (!key) {
      throw new Error(
        `unknown argument "${arg}"; flags: ${Object.keys(FLAGS)
          .map((f) => `--${f}=…`)
          .join(', ')} (or the BENCH_* variables)`,
      );
    }
    fromFlags[key] = match[2] ?? 'true';
  }
  const benchEnv = Object.fromEntries(Object.entries(source).filter(([key]) => key.startsWith('BENCH_')));
  const given = { ...benchEnv, ...fromFlags };
  let options: BenchOptions;
  try {
    options = loadConfig(optionsSchema, given);
  } catch (error) {
    throw new Error(withFlags((error as Error).message));
  }
  const problems = crossCheck(options);
  if (problems.length)
    throw new Error(withFlags(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`));
  if (options.BENCH_MIX && options.BENCH_PROFILE)
    throw new Error(withFlags('BENCH_PROFILE: profiles are taken of the fixed queries; leave it off with BENCH_MIX'));
  if (options.BENCH_SUBSCRIPTIONS && options.BENCH_MIX)
    throw new Error(withFlags('BENCH_SUBSCRIPTIONS: choose one of BENCH_MIX and BENCH_SUBSCRIPTIONS per run'));
  if (options.BENCH_SUBSCRIPTIONS && options.BENCH_PROFILE)
    throw new Error(
      withFlags('BENCH_PROFILE: profiles are taken of the fixed queries; leave it off with BENCH_SUBSCRIPTIONS'),
    );
  if (options.BENCH_SUBSCRIPTIONS && given.BENCH_GATEWAYS)
    throw new Error(
      withFlags(
        'BENCH_GATEWAYS: the subscriptions bench measures our gateway as it ships (the stock gateway executes no subscriptions, and the subgraphs take subscription sockets only signed by ours); leave it unset',
      ),
    );
  if (options.BENCH_MIX && !given.BENCH_GATEWAYS) options = { ...options, BENCH_GATEWAYS: MIX_GATEWAYS };
  return options.BENCH_PROFILE ? { ...options, BENCH_ROUNDS: 1 } : options;
}
