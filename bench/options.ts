import { env, loadConfig } from '@storefront/platform/config';
import { z } from 'zod';

/**
 * The bench's settings: environment variables, or the same as flags
 * (`npm run bench -- --duration=5 --rounds=1 --profile`). Read once; a bad
 * value stops the bench with a message naming the key.
 */
export const GATEWAY_IDS = ['ours-off', 'ours-on', 'ours-noshare', 'stock', 'hive'] as const;
export type GatewayId = (typeof GATEWAY_IDS)[number];
export const QUERY_IDS = ['a', 'b', 'c'] as const;
export type QueryId = (typeof QUERY_IDS)[number];

const subsetOf = <T extends string>(all: readonly T[]) =>
  env
    .list()
    .pipe(
      z.array(z.enum(all as unknown as [T, ...T[]], { error: `must be a comma-separated list of: ${all.join(', ')}` })),
    )
    .default([...all]);

const optionsSchema = z.object({
  /** Seconds of load per gateway per query per round. */
  BENCH_DURATION_SECONDS: env.int(10, 1),
  /** Alternating rounds; the report shows the median over rounds. */
  BENCH_ROUNDS: env.int(3, 1),
  /** Concurrent connections of the load generator (the targets are stated at 50). */
  BENCH_CONNECTIONS: env.int(50, 1),
  /** Seconds of unmeasured load per gateway per query before round 1 (JIT, plan caches, pools). */
  BENCH_WARMUP_SECONDS: env.int(3, 0),
  /** How services run: `compiled` (npm run build, then node), `tsx` (TypeScript loader), `auto` (compiled when the build succeeds). */
  BENCH_RUNTIME: z.enum(['auto', 'compiled', 'tsx'], { error: 'must be auto, compiled or tsx' }).default('auto'),
  /** Which gateways and queries to run (all by default); a subset is for quick looks, not for the report. */
  BENCH_GATEWAYS: subsetOf(GATEWAY_IDS),
  BENCH_QUERIES: subsetOf(QUERY_IDS),
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
});

export type BenchOptions = z.infer<typeof optionsSchema>;

const FLAGS: Record<string, keyof BenchOptions> = {
  duration: 'BENCH_DURATION_SECONDS',
  rounds: 'BENCH_ROUNDS',
  connections: 'BENCH_CONNECTIONS',
  warmup: 'BENCH_WARMUP_SECONDS',
  runtime: 'BENCH_RUNTIME',
  gateways: 'BENCH_GATEWAYS',
  queries: 'BENCH_QUERIES',
  profile: 'BENCH_PROFILE',
  output: 'BENCH_OUTPUT_DIR',
};

export function loadBenchOptions(
  argv: string[],
  source: Record<string, string | undefined> = process.env,
): BenchOptions {
  const fromFlags: Record<string, string> = {};
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
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
  const options = loadConfig(optionsSchema, { ...benchEnv, ...fromFlags });
  return options.BENCH_PROFILE ? { ...options, BENCH_ROUNDS: 1 } : options;
}
