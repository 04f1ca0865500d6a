import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSeedingGateway, writeSupergraph, type GatewayContext } from './gateways.ts';
import { loadBenchOptions, type BenchOptions } from './options.ts';
import { stopAll, type Managed } from './processes.ts';
import { seedCustomer, type SeededCustomer } from './seed.ts';
import {
  chooseRuntime,
  seedCatalog,
  startBackends,
  startSubgraphs,
  stopBackends,
  workDir,
  type SubgraphName,
} from './services.ts';

/**
 * What every bench mode measures against: fresh PostgreSQL, Redis and Kafka,
 * the seeded catalog, the bench customer's order history made through the
 * real order flow, and the four subgraphs started anew for the measurement.
 */
export interface BenchStack {
  context: GatewayContext;
  customer: SeededCustomer;
  subgraphs: Record<SubgraphName, Managed>;
  runtimeNote: string;
  profileDir: string;
}

export const say = (message: string) => process.stdout.write(`[bench] ${message}\n`);

/** The work dir is ours alone (a marker file says so); anything left from an earlier run is removed. */
export function prepareWorkDir(options: BenchOptions): { logDir: string; profileDir: string } {
  const dir = workDir(options);
  const marker = join(dir, '.storefront-bench');
  if (existsSync(dir) && !existsSync(marker))
    throw new Error(
      `BENCH_SERVICES_DIR: ${dir} exists and was not made by the bench; choose another BENCH_SERVICES_DIR`,
    );
  rmSync(dir, { recursive: true, force: true });
  const logDir = join(dir, 'logs');
  const profileDir = join(dir, 'profile');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(profileDir, { recursive: true });
  writeFileSync(marker, 'made by npm run bench\n');
  say(`logs in ${logDir}`);
  return { logDir, profileDir };
}

export async function prepareStack(options: BenchOptions): Promise<BenchStack> {
  const { logDir, profileDir } = prepareWorkDir(options);
  const { runtime, note: runtimeNote } = await chooseRuntime(options, logDir);
  say(`services run as: ${runtimeNote}`);

  say('starting PostgreSQL, Redis and Kafka (scripts/services/services.sh)…');
  const backends = await startBackends(options, logDir);
  say('seeding the catalog (scripts/seed.ts)…');
  await seedCatalog(options, backends, logDir);
  const supergraphFile = writeSupergraph(options);
  const context: GatewayContext = {
    options,
    backends,
    runtime,
    supergraphFile,
    logDir,
    ...(options.BENCH_PROFILE ? { profileDir } : {}),
  };

  say('seeding the bench customer and 10 orders through the real order flow…');
  const seedingSubgraphs = await startSubgraphs(options, backends, runtime, logDir, 'seeding');
  const seeding = await startSeedingGateway(context);
  const customer = await seedCustomer(seeding.url);
  await seeding.process.stop();
  await Promise.all(Object.values(seedingSubgraphs).map((p) => p.stop()));

  // The peers sign their subgraph calls as acting for the bench customer (bench/peers/sign.mjs).
  context.signAs = { userId: customer.userId, role: 'CUSTOMER' };
  say('starting the measured subgraphs…');
  const subgraphs = await startSubgraphs(
    options,
    backends,
    runtime,
    logDir,
    'bench',
    {},
    options.BENCH_PROFILE ? join(profileDir, 'subgraphs') : undefined,
  );
  return { context, customer, subgraphs, runtimeNote, profileDir };
}

/**
 * Runs a bench mode (`npm run bench`, `bench:tracing`) to its end: the
 * options are read (a bad one stops it with its message, exit 2), and
 * everything it started — processes, PostgreSQL, Redis and Kafka — is stopped
 * when it ends, fails (exit 1) or is interrupted (exit 130).
 */
export async function runBench(
  command: string,
  main: (options: BenchOptions) => Promise<void>,
  defaults: Record<string, string> = {},
): Promise<void> {
  let options: BenchOptions;
  try {
    options = loadBenchOptions(process.argv.slice(2), { ...defaults, ...process.env });
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await stopAll();
      await stopBackends(options, join(workDir(options), 'logs'));
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n[bench] ${signal}: stopping everything the bench started…\n`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main(options);
    await cleanUp();
  } catch (error) {
    process.stderr.write(`\n[bench] FAILED: ${(error as Error).message}\n`);
    await cleanUp();
    process.exit(1);
  }
}
