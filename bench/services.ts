import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './options.ts';
import { baseEnv, runToEnd, startProcess, waitUntil, type Managed } from './processes.ts';

/**
 * What the gateways stand on: PostgreSQL, Redis and Kafka from the project's
 * own scripts/services/services.sh (on the bench's ports and state dir), and
 * the four subgraphs, each its own process.
 */
export const ROOT = new URL('../', import.meta.url).pathname;
export const SUBGRAPHS = ['users', 'products', 'orders', 'notifications'] as const;
export type SubgraphName = (typeof SUBGRAPHS)[number];
/** Shared by every gateway (the peers sign with it too: bench/peers/sign.mjs) and the subgraphs. Bench-only, never deployed. */
export const BENCH_SECRET = 'bench-only-subgraph-secret-0123456789';
/** Long enough for a whole bench: the token of the bench customer is issued once. */
export const TOKEN_TTL_SECONDS = 24 * 3600;

/**
 * The bench's own files (logs, the supergraph SDL, the users service's key,
 * profiles), next to the services' state dir, which services.sh owns.
 */
export const workDir = (options: BenchOptions) => `${options.BENCH_SERVICES_DIR.replace(/\/+$/, '')}.work`;

export interface Backends {
  DATABASE_URL: string;
  REDIS_URL: string;
  KAFKA_BROKERS: string;
}

const servicesScript = join(ROOT, 'scripts/services/services.sh');

function servicesEnv(options: BenchOptions): Record<string, string> {
  return {
    ...baseEnv(),
    STOREFRONT_SERVICES_DIR: options.BENCH_SERVICES_DIR,
    PG_PORT: String(options.BENCH_PG_PORT),
    REDIS_PORT: String(options.BENCH_REDIS_PORT),
    KAFKA_PORT: String(options.BENCH_KAFKA_PORT),
  };
}

/** Starts fresh backends (a leftover state dir of an interrupted bench is removed first). */
export async function startBackends(options: BenchOptions, logDir: string): Promise<Backends> {
  await stopBackends(options, logDir);
  await runToEnd('services-start', 'bash', [servicesScript, 'start'], { env: servicesEnv(options), logDir });
  const text = execFileSync('bash', [servicesScript, 'env'], { env: servicesEnv(options), encoding: 'utf8' });
  const values = Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  return { DATABASE_URL: values.DATABASE_URL!, REDIS_URL: values.REDIS_URL!, KAFKA_BROKERS: values.KAFKA_BROKERS! };
}

export async function stopBackends(options: BenchOptions, logDir: string): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  await runToEnd('services-stop', 'bash', [servicesScript, 'stop'], { env: servicesEnv(options), logDir }).catch(
    () => {},
  );
}

/** How our services run: compiled JS when `npm run build` works (what production runs), else through tsx. */
export type Runtime = 'compiled' | 'tsx';

const distOf = (source: string) => source.replace('/src/', '/dist/').replace(/\.ts$/, '.js');
const ENTRY_POINTS = ['gateway/src/main.ts', ...SUBGRAPHS.map((name) => `subgraphs/${name}/src/main.ts`)];

export async function chooseRuntime(
  options: BenchOptions,
  logDir: string,
): Promise<{ runtime: Runtime; note: string }> {
  if (options.BENCH_RUNTIME === 'tsx') return { runtime: 'tsx', note: 'tsx (BENCH_RUNTIME=tsx)' };
  const scripts =
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ??
    {};
  let problem: string | undefined;
  if (!scripts.build) problem = 'the project has no `npm run build` script';
  else {
    try {
      await runToEnd('build', 'npm', ['run', 'build'], {
        env: { ...baseEnv(), NODE_ENV: 'production' },
        logDir,
        cwd: ROOT,
      });
      const missing = ENTRY_POINTS.map(distOf).filter((file) => !existsSync(join(ROOT, file)));
      if (missing.length) problem = `npm run build did not produce ${missing.join(', ')}`;
    } catch (error) {
      problem = `npm run build failed (log: ${join(logDir, 'build.log')})`;
      if (options.BENCH_RUNTIME === 'compiled') throw error;
    }
  }
  if (!problem)
    return { runtime: 'compiled', note: 'compiled JS (`npm run build`, then `node <service>/dist/main.js`)' };
  if (options.BENCH_RUNTIME === 'compiled') throw new Error(`BENCH_RUNTIME=compiled: ${problem}`);
  process.stderr.write(`[bench] ${problem}; running the services through tsx\n`);
  return { runtime: 'tsx', note: `tsx (TypeScript loader), because ${problem}` };
}

/** The command that runs one of our entry points (`gateway/src/main.ts`, …) under the chosen runtime. */
export function nodeArgs(runtime: Runtime, source: string, extraNodeArgs: string[] = []): string[] {
  return runtime === 'compiled'
    ? [...extraNodeArgs, join(ROOT, distOf(source))]
    : // Resolved here: the gateways run in the bench's work dir, where a bare `tsx` is not found.
      [...extraNodeArgs, '--import', import.meta.resolve('tsx'), join(ROOT, source)];
}

export const subgraphPort = (options: BenchOptions, name: SubgraphName) =>
  options.BENCH_PORT_BASE + 1 + SUBGRAPHS.indexOf(name);
export const subgraphUrl = (options: BenchOptions, name: SubgraphName) =>
  `http://127.0.0.1:${subgraphPort(options, name)}/graphql`;

/** The admin the seed creates (production refuses the public development password). */
export const BENCH_ADMIN = { email: 'admin@storefront.local', password: 'bench-only-admin-password-0123' };

/**
 * The users service's token signing key for the whole bench (production requires JWT_SIGNING_KEYS: one
 * key every users process signs with, so a token from the seeding phase stays valid). Made once per
 * work dir; bench-only, never deployed.
 */
function benchSigningKeys(options: BenchOptions): string {
  const file = join(workDir(options), 'jwt-signing-keys.json');
  if (!existsSync(file)) {
    const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    writeFileSync(file, JSON.stringify([{ ...jwk, kid: 'bench', alg: 'EdDSA', use: 'sig' }]), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
}

/**
 * Settings every subgraph process gets: production, as deployed (every call's signature verified, no
 * development aids), with the bench's own secrets. `extra` adds a phase's own settings.
 */
function subgraphEnv(
  options: BenchOptions,
  backends: Backends,
  name: SubgraphName,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    ...baseEnv(),
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    [`${name.toUpperCase()}_PORT`]: String(subgraphPort(options, name)),
    DATABASE_URL: backends.DATABASE_URL,
    KAFKA_BROKERS: backends.KAFKA_BROKERS,
    SUBGRAPH_SECRET: BENCH_SECRET,
    DATA_DIR: join(workDir(options), 'data'),
    ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
    ...(name === 'users'
      ? {
          JWT_SIGNING_KEYS: benchSigningKeys(options),
          SEED_ADMIN_EMAIL: BENCH_ADMIN.email,
          SEED_ADMIN_PASSWORD: BENCH_ADMIN.password,
        }
      : {}),
    ...extra,
  };
}

export async function startSubgraphs(
  options: BenchOptions,
  backends: Backends,
  runtime: Runtime,
  logDir: string,
  phase: string,
  extra: Record<string, string> = {},
  /** Set: each subgraph runs under --cpu-prof and writes its profile to <profileDir>/<name> when it stops. */
  profileDir?: string,
): Promise<Record<SubgraphName, Managed>> {
  const started = {} as Record<SubgraphName, Managed>;
  for (const name of SUBGRAPHS) {
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
    started[name] = startProcess(
      `${phase}-${name}`,
      process.execPath,
      nodeArgs(runtime, `subgraphs/${name}/src/main.ts`, profile),
      {
        env: subgraphEnv(options, backends, name, extra),
        logDir,
        cwd: ROOT,
      },
    );
  }
  const readyz = (name: SubgraphName) => subgraphUrl(options, name).replace('/graphql', '/readyz');
  await Promise.all(
    SUBGRAPHS.map((name) => waitUntil(started[name], 'ready /readyz', async () => (await fetch(readyz(name))).ok)),
  );
  return started;
}

/** The project's own seed (`npm run seed`, production: no demo customer): admin and the demo catalog, announced on Kafka. Not measured: always tsx. */
export async function seedCatalog(options: BenchOptions, backends: Backends, logDir: string): Promise<void> {
  const env = subgraphEnv(options, backends, 'users', {});
  await runToEnd('seed', process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/seed.ts')], {
    env,
    logDir,
    cwd: ROOT,
  });
}
