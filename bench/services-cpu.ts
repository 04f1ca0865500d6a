/**
 * `npm run bench:services`: what one request costs each service. Our gateway
 * without any sharing (`ours-noshare`: every request runs on its own, as a
 * personal page from many customers would) in front of the four subgraphs
 * (production mode); for each query a fixed, moderate offered load (open
 * model, `BENCH_SERVICES_RATE` a second), so the two cores are not saturated
 * — CPU per request inflates badly under saturation — in alternating rounds.
 * The CPU milliseconds of each subgraph process per request, above what it
 * burns idle (outbox relay, consumers), median and range over rounds.
 *
 * Each run is kept under a label (`--label=before`, default `after`) in
 * <output>/services-cpu-results.json, and the section of RESULTS.md shows
 * every kept label side by side: run it once on the code before a change and
 * once after.
 *
 *   npm run bench:services -- --label=before               # 5 rounds × 10 s per query, 40 req/s
 *   npm run bench:services -- --duration=2 --rounds=1      # a smoke run
 *   npm run bench:services -- --profile --label=profile    # one round, the subgraphs under --cpu-prof
 *
 * Settings: the BENCH_* variables and flags of bench/options.ts (duration,
 * rounds, warm-up, queries, services-rate, label, profile apply).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startGateway } from './gateways.ts';
import { runLoad, treeCpuMs } from './measure.ts';
import type { BenchOptions, QueryId } from './options.ts';
import { summarizeProfile } from './profile.ts';
import { prepareVariables, QUERIES, requestBody, verifySameData } from './queries.ts';
import {
  PROCESSES,
  renderServicesSection,
  type Process,
  type ServicesResults,
  type ServicesRun,
} from './services-report.ts';
import { describeCommit, describeMachine, isSmoke, loadAverage } from './report.ts';
import { writeSection } from './results-file.ts';
import { logInCustomer } from './seed.ts';
import { ROOT, SUBGRAPHS } from './services.ts';
import { prepareStack, runBench, say } from './stack.ts';

const IDLE_SECONDS = 10;
/** Enough connections for the rate at a few hundred ms latency; the rate, not the connections, sets the load. */
const CONNECTIONS = 16;

function cpuNow(pids: Record<Process, number>): Record<Process, number> {
  return Object.fromEntries(PROCESSES.map((p) => [p, treeCpuMs(pids[p])])) as Record<Process, number>;
}

async function main(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const { context, subgraphs, runtimeNote, profileDir } = await prepareStack(options);
  say('starting our gateway without sharing (ours-noshare)…');
  const gateway = await startGateway('ours-noshare', context);
  const token = await logInCustomer(gateway.url);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const pids = {
    ...Object.fromEntries(SUBGRAPHS.map((name) => [name, subgraphs[name].pid])),
    gateway: gateway.process.pid,
  } as Record<Process, number>;

  const queries = options.BENCH_QUERIES.map((id) => QUERIES[id]);
  await prepareVariables(queries, gateway.url, token);
  const expected = new Map<QueryId, string>();
  for (const query of queries) expected.set(query.id, (await verifySameData(query, [gateway], token)).get(gateway.id)!);
  const load = (queryId: QueryId, durationSeconds: number) => ({
    url: gateway.url,
    body: requestBody(QUERIES[queryId]),
    headers,
    expectBody: expected.get(queryId)!,
    connections: CONNECTIONS,
    durationSeconds,
    rate: options.BENCH_SERVICES_RATE,
  });

  if (options.BENCH_WARMUP_SECONDS > 0) {
    say(`warm-up: ${options.BENCH_WARMUP_SECONDS}s per query`);
    for (const query of queries) await runLoad(load(query.id, options.BENCH_WARMUP_SECONDS));
  }
  await new Promise((r) => setTimeout(r, 1000));
  say(`idle: ${IDLE_SECONDS}s with no load…`);
  const idleStart = cpuNow(pids);
  const idleClock = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const idleEnd = cpuNow(pids);
  const idleSeconds = (performance.now() - idleClock) / 1000;
  const idleMsPerSecond = Object.fromEntries(
    PROCESSES.map((p) => [p, (idleEnd[p] - idleStart[p]) / idleSeconds]),
  ) as Record<Process, number>;
  say(`idle CPU ms/s: ${PROCESSES.map((p) => `${p} ${idleMsPerSecond[p].toFixed(1)}`).join(', ')}`);

  const results: ServicesRun['queries'] = {};
  for (let round = 1; round <= options.BENCH_ROUNDS; round += 1) {
    // Each round starts with the next query, so none always runs right after the same one.
    const shift = (round - 1) % queries.length;
    for (const query of [...queries.slice(shift), ...queries.slice(0, shift)]) {
      await new Promise((r) => setTimeout(r, 500));
      const before = cpuNow(pids);
      const clock = performance.now();
      const result = await runLoad(load(query.id, options.BENCH_DURATION_SECONDS));
      const seconds = (performance.now() - clock) / 1000;
      const after = cpuNow(pids);
      const requests = result.requests.total;
      const failed = result.non2xx + result.errors + result.timeouts;
      if (failed || result.mismatches || !requests)
        throw new Error(`query (${query.id}): ${failed} failed and ${result.mismatches} wrong answers of ${requests}`);
      const samples = (results[query.id] ??= {
        cpu: Object.fromEntries(PROCESSES.map((p) => [p, []])) as unknown as Record<Process, number[]>,
        rps: [],
        p99Ms: [],
      });
      for (const p of PROCESSES)
        samples.cpu[p].push(Math.max(0, after[p] - before[p] - idleMsPerSecond[p] * seconds) / requests);
      samples.rps.push(requests / result.duration);
      samples.p99Ms.push(result.latency.p99);
      const services = SUBGRAPHS.reduce((sum, name) => sum + samples.cpu[name].at(-1)!, 0);
      say(
        `round ${round}/${options.BENCH_ROUNDS} (${query.id}) ${(requests / result.duration).toFixed(0)} req/s, p99 ${result.latency.p99} ms; ` +
          `services ${services.toFixed(2)} ms/req (${SUBGRAPHS.map((n) => `${n} ${samples.cpu[n].at(-1)!.toFixed(2)}`).join(', ')}), gateway ${samples.cpu.gateway.at(-1)!.toFixed(2)}`,
      );
    }
  }
  await gateway.process.stop();

  let profiles: ServicesRun['profiles'];
  if (options.BENCH_PROFILE) {
    // The subgraphs write their profiles when they stop.
    await Promise.all(Object.values(subgraphs).map((p) => p.stop()));
    profiles = {};
    for (const name of SUBGRAPHS) {
      const dir = join(profileDir, 'subgraphs', name);
      const profile = existsSync(dir) ? summarizeProfile(dir, ROOT) : undefined;
      if (!profile) continue;
      profiles[name] = {
        packages: profile.packages.slice(0, 8).map((p) => `${p.name} ${(p.share * 100).toFixed(0)}%`),
        functions: profile.functions
          .slice(0, 10)
          .map((f) => `${(f.share * 100).toFixed(1)}% ${f.name} (${f.where || 'native'})`),
      };
      say(`profile of ${name} (${profile.file}): ${profiles[name].packages.join(', ')}`);
      for (const f of profiles[name].functions) say(`  ${f}`);
    }
  }

  const machine = describeMachine();
  const run: ServicesRun = {
    date: startedAt.toISOString(),
    commit: describeCommit(ROOT),
    machine: `${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}`,
    loadAverage: { start: loadAtStart, end: loadAverage() },
    runtime: runtimeNote,
    smoke: isSmoke(options),
    settings: {
      rate: options.BENCH_SERVICES_RATE,
      rounds: options.BENCH_ROUNDS,
      durationSeconds: options.BENCH_DURATION_SECONDS,
    },
    idleMsPerSecond,
    queries: results,
    ...(profiles ? { profiles } : {}),
  };
  const outputDir = resolve(ROOT, options.BENCH_OUTPUT_DIR);
  const jsonFile = join(outputDir, 'services-cpu-results.json');
  const kept = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as ServicesResults) : { runs: {} };
  kept.runs[options.BENCH_SERVICES_LABEL] = run;
  writeFileSync(jsonFile, `${JSON.stringify(kept, null, 2)}\n`);
  writeSection(join(outputDir, 'RESULTS.md'), 'services-cpu', renderServicesSection(kept));
  say(`kept as "${options.BENCH_SERVICES_LABEL}" in ${jsonFile}; wrote its section of RESULTS.md`);
}

// The catalog page, the product page, the order history and the deep query; five rounds.
await runBench('npm run bench:services', main, { BENCH_QUERIES: 'a,d,b,c', BENCH_ROUNDS: '5' });
