import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  GATEWAY_LABELS,
  startGateway,
  writeSupergraph,
  type GatewayContext,
  type RunningGatewayProcess,
} from '../gateways.ts';
import type { BenchOptions, GatewayId } from '../options.ts';
import { loadAverage, runHeader } from '../report.ts';
import { treeCpuMs } from '../measure.ts';
import { chooseRuntime, ROOT, seedCatalog, startBackends, startSubgraphs } from '../services.ts';
import { AnswerChecker } from './check.ts';
import { percentile, runStep, type StepResult } from './load.ts';
import { createPicker, type PaymentPool } from './operations.ts';
import { seededRandom } from './random.ts';
import { takeReferences } from './reference.ts';
import { isMixSmoke, writeMixResults, type MixResults } from './report.ts';
import { searchSustainedRate } from './search.ts';
import { confirmedOrders, orderOwners, seedMix } from './seed.ts';
import { OrderWatchers } from './subscriptions.ts';

/**
 * `npm run bench -- --mix`: the realistic open-loop mix. Seeds the catalog,
 * the customers and their histories, starts the subgraphs and the gateways
 * (the peers pass the customer on), takes the reference answers, then, in
 * alternating rounds, searches each gateway's highest sustained rate.
 */
const say = (message: string) => process.stdout.write(`[bench --mix] ${message}\n`);

/** Gateways that serve subscriptions over graphql-ws on the bench's subgraphs (see the report for the others). */
const servesSubscriptions = (id: GatewayId) => id.startsWith('ours');
const EVENT_GRACE_MS = 10_000;
const MAX_STEPS = 16;
const SEED = 20_261_207;

export async function runMix(options: BenchOptions, logDir: string): Promise<void> {
  const startedAt = Date.now();
  const loadAtStart = loadAverage();
  const { runtime, note: runtimeNote } = await chooseRuntime(options, logDir);
  say(`services run as: ${runtimeNote}`);
  say('starting PostgreSQL, Redis and Kafka (scripts/services/services.sh)…');
  const backends = await startBackends(options, logDir);
  say('seeding the demo catalog and the admin (scripts/seed.ts)…');
  await seedCatalog(options, backends, logDir);
  const supergraphFile = writeSupergraph(options);

  const random = seededRandom(SEED);
  say(
    `seeding ${options.BENCH_MIX_PRODUCTS} products, ${options.BENCH_MIX_CUSTOMERS} customers (signUp) and ${options.BENCH_MIX_CUSTOMERS * options.BENCH_MIX_ORDERS_PER_CUSTOMER} orders…`,
  );
  const seedStart = Date.now();
  // Cheap password hashes while seeding only: a thousand signUps at the production cost would take minutes.
  const seeding = await startSubgraphs(options, backends, runtime, logDir, 'seeding', { PASSWORD_HASH_COST: '10' });
  const data = await seedMix(options, backends, random);
  await Promise.all(Object.values(seeding).map((p) => p.stop()));
  const seedSeconds = (Date.now() - seedStart) / 1000;
  say(`seeded in ${seedSeconds.toFixed(1)}s (${data.payable.length} CONFIRMED orders to pay)`);

  say('starting the measured subgraphs…');
  const subgraphs = await startSubgraphs(options, backends, runtime, logDir, 'mix');
  const subgraphPids = Object.values(subgraphs).map((p) => p.pid);
  const context: GatewayContext = { options, backends, runtime, supergraphFile, logDir };
  const gateways: RunningGatewayProcess[] = [];
  for (const id of options.BENCH_GATEWAYS) {
    say(`starting ${GATEWAY_LABELS[id]}…`);
    gateways.push(await startGateway(id, context));
  }

  const { references, count } = await takeReferences(gateways, data);
  say(`reference: ${count} public answers, the same data on every gateway`);
  say(`idle CPU: measuring ${IDLE_SECONDS}s with no load…`);
  const idle = await measureIdle(gateways, subgraphPids);
  say(
    `idle CPU: subgraphs ${idle.subgraphs.toFixed(0)} ms/s; ${gateways.map((g) => `${GATEWAY_LABELS[g.id]} ${idle.gateways.get(g.id)!.toFixed(0)} ms/s`).join(', ')}`,
  );
  const checkers = new Map(gateways.map((g) => [g.id, new AnswerChecker(data, references.get(g.id)!)]));
  const picker = createPicker(options, data, random);
  const payments: PaymentPool = { watched: [], payable: data.payable };

  const step = async (gateway: RunningGatewayProcess, rate: number, seconds: number): Promise<StepResult> => {
    const watchers =
      servesSubscriptions(gateway.id) && options.BENCH_MIX_OPEN_SUBSCRIPTIONS > 0
        ? await OrderWatchers.open(
            gateway.url.replace(/^http/, 'ws'),
            data,
            payments.payable,
            options.BENCH_MIX_OPEN_SUBSCRIPTIONS,
          )
        : undefined;
    if (watchers) {
      payments.watched = watchers.watched;
      await new Promise((r) => setTimeout(r, 1000)); // what opening them set going settles before the clock starts
    }
    const result = await runStep({
      url: gateway.url,
      rate,
      seconds,
      connections: options.BENCH_MIX_CONNECTIONS,
      p99LimitMs: options.BENCH_MIX_P99_MS,
      next: picker.next,
      skippedPayments: picker.skippedPayments,
      payments,
      checker: checkers.get(gateway.id)!,
      data,
      ...(watchers ? { watchers } : {}),
      pids: { gateway: gateway.process.pid, subgraphs: subgraphPids },
      idle: { gatewayMsPerSecond: idle.gateways.get(gateway.id) ?? 0, subgraphsMsPerSecond: idle.subgraphs },
    });
    // Watched orders nobody paid go back to the pool, and the orders this step placed that the saga confirmed
    // join it (behind the others), so a long run never runs out of orders to pay.
    payments.payable.push(...payments.watched.splice(0));
    payments.payable.unshift(...(await confirmedOrders(backends, data.placed.splice(0))));
    const unresolved = await checkers.get(gateway.id)!.unresolved((ids) => orderOwners(backends, ids));
    if (unresolved.length) throw new Error(`a wrong answer on ${GATEWAY_LABELS[gateway.id]}: ${unresolved[0]}`);
    if (watchers) {
      const { latenciesMs, ...stats } = await watchers.close(EVENT_GRACE_MS);
      if (stats.unexpected.length)
        throw new Error(`${GATEWAY_LABELS[gateway.id]}: a subscription received ${stats.unexpected[0]}`);
      result.subscriptions = { ...stats, p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99) };
      // Events that never arrived are failures like errors.
      if (stats.received < stats.expected || stats.failures.length) result.sustained = false;
    }
    say(describeStep(gateway.id, result));
    await new Promise((r) => setTimeout(r, 1000)); // let the step's sockets close and the event pipeline drain
    return result;
  };

  if (options.BENCH_WARMUP_SECONDS > 0) {
    say(
      `warm-up: ${options.BENCH_WARMUP_SECONDS}s per gateway at ${options.BENCH_MIX_START_RATE}/s (checked, not counted)`,
    );
    for (const gateway of gateways) await step(gateway, options.BENCH_MIX_START_RATE, options.BENCH_WARMUP_SECONDS);
  }

  const rounds: MixResults['rounds'] = [];
  for (let round = 1; round <= options.BENCH_ROUNDS; round += 1) {
    const shift = (round - 1) % gateways.length;
    for (const gateway of [...gateways.slice(shift), ...gateways.slice(0, shift)]) {
      say(`round ${round}/${options.BENCH_ROUNDS}: searching the highest rate ${GATEWAY_LABELS[gateway.id]} sustains…`);
      const outcome = await searchSustainedRate(
        {
          start: options.BENCH_MIX_START_RATE,
          max: options.BENCH_MIX_MAX_RATE,
          precision: options.BENCH_MIX_PRECISION,
          maxSteps: MAX_STEPS,
        },
        (rate) => step(gateway, rate, options.BENCH_MIX_STEP_SECONDS),
      );
      rounds.push({ round, gateway: gateway.id, ...outcome });
      say(
        `round ${round}: ${GATEWAY_LABELS[gateway.id]} sustains ${outcome.sustained ? `${outcome.sustained.rate}/s` : 'no rate tried'}${outcome.failed ? ` (fails at ${outcome.failed.rate}/s)` : ''}`,
      );
    }
  }

  const results: MixResults = {
    ...runHeader({ smoke: isMixSmoke(options), startedAt, loadAtStart, runtime: runtimeNote, seedSeconds, root: ROOT }),
    settings: Object.fromEntries(
      Object.entries(options).filter(
        ([k]) => k.startsWith('BENCH_MIX_') || ['BENCH_ROUNDS', 'BENCH_WARMUP_SECONDS'].includes(k),
      ),
    ),
    data: {
      customers: data.customers.length,
      products: data.products.length,
      categories: data.categories.length,
      searchTerms: data.searchTerms.length,
      seededOrders: options.BENCH_MIX_CUSTOMERS * options.BENCH_MIX_ORDERS_PER_CUSTOMER,
      publicReferences: count,
    },
    gateways: gateways.map((g) => ({
      id: g.id,
      label: GATEWAY_LABELS[g.id],
      command: g.command,
      subscriptions: servesSubscriptions(g.id),
    })),
    idle: {
      subgraphsMsPerSecond: idle.subgraphs,
      gatewaysMsPerSecond: Object.fromEntries(idle.gateways),
    },
    rounds,
  };
  const outputDir = resolve(ROOT, options.BENCH_OUTPUT_DIR);
  mkdirSync(outputDir, { recursive: true });
  say(`wrote ${writeMixResults(results, outputDir)}${results.smoke ? ' (marked as a smoke run)' : ''}`);
}

const IDLE_SECONDS = 5;
/** Up to a minute of windows while the subgraphs settle after the seeding (measureIdle). */
const MAX_IDLE_WINDOWS = 12;

/**
 * What the processes burn with no load at all (Kafka consumers polling, outbox relays, timers): at low
 * rates it is a large part of the CPU per request, so the report also shows CPU per request without it.
 * Measured once it has settled: the measured
 * subgraphs start right after the seeding and work off its events (welcome
 * emails for a thousand sign-ups…) for a while, and a window taken then would
 * charge that work to idle and make every net figure too low. Windows of
 * IDLE_SECONDS are taken until one is no more than a little below the one
 * before (at most MAX_IDLE_WINDOWS); the last is the idle figure.
 */
async function measureIdle(
  gateways: RunningGatewayProcess[],
  subgraphPids: number[],
): Promise<{ subgraphs: number; gateways: Map<GatewayId, number> }> {
  let previous = await idleWindow(gateways, subgraphPids);
  for (let window = 1; window < MAX_IDLE_WINDOWS; window++) {
    const next = await idleWindow(gateways, subgraphPids);
    const settled = next.subgraphs >= previous.subgraphs - Math.max(10, previous.subgraphs * 0.2);
    previous = next;
    if (settled) break;
    say(`idle CPU: the subgraphs are still settling (${next.subgraphs.toFixed(0)} ms/s); measuring again…`);
  }
  return previous;
}

async function idleWindow(
  gateways: RunningGatewayProcess[],
  subgraphPids: number[],
): Promise<{ subgraphs: number; gateways: Map<GatewayId, number> }> {
  const read = () => ({
    subgraphs: subgraphPids.reduce((sum, pid) => sum + treeCpuMs(pid), 0),
    gateways: gateways.map((g) => treeCpuMs(g.process.pid)),
  });
  const before = read();
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const after = read();
  return {
    subgraphs: (after.subgraphs - before.subgraphs) / IDLE_SECONDS,
    gateways: new Map(gateways.map((g, i) => [g.id, (after.gateways[i]! - before.gateways[i]!) / IDLE_SECONDS])),
  };
}

function describeStep(id: GatewayId, s: StepResult): string {
  const events = s.subscriptions
    ? `  events ${s.subscriptions.received}/${s.subscriptions.expected}${s.subscriptions.expected ? ` (p99 ${s.subscriptions.p99Ms.toFixed(0)} ms)` : ''}`
    : '';
  return (
    `${GATEWAY_LABELS[id].padEnd(18)} ${String(s.rate).padStart(5)}/s → ${s.throughput.toFixed(0).padStart(5)}/s  ` +
    `p50 ${s.p50Ms.toFixed(1)} p99 ${s.p99Ms.toFixed(1)} ms  errors ${s.errors}  ` +
    `CPU (net of idle) gw ${s.gatewayCpuNetMsPerRequest.toFixed(2)} sub ${s.subgraphsCpuNetMsPerRequest.toFixed(2)} gen ${s.loadGeneratorCpuMsPerRequest.toFixed(2)} ms/req${events}  ` +
    `${s.sustained ? 'held' : 'FAILED'}${s.errorSamples.length ? `  e.g. ${s.errorSamples[0]}` : ''}`
  );
}
