/**
 * `npm run bench:gateway`: what one request costs each gateway's own CPU,
 * ours against stock Apollo and Hive Gateway, like with like.
 *
 * The subgraphs are replayed (bench/replay.ts), so the gateways have the
 * cores to themselves and their CPU per request is not inflated by busy
 * services; in each round the compared gateways get the same load at the
 * same time (bench/side-by-side.ts).
 *
 * - **Without sharing**: ours with OPERATION_DEDUP and SUBGRAPH_DEDUP off,
 *   stock Apollo (shares nothing), and Hive Gateway with its one default
 *   sharing (identical in-flight subgraph fetches) off — every request costs
 *   its own. Each at the same fixed rate, short of saturating the cores.
 *   Queries a, b, c and (w), a wide answer of some 250 entities from all four
 *   services, where the gateway rather than the services is the wall.
 * - **With sharing**: one customer's identical requests at 50 connections, as
 *   fast as answered: ours as it ships (identical in-flight operations of the
 *   same caller run once, the followers get the leader's bytes) against Hive
 *   Gateway as it ships (identical in-flight subgraph fetches sent once).
 *
 * Writes its section of bench/RESULTS.md.
 *
 *   npm run bench:gateway                               # 5 rounds × 10 s, queries a, b, c, w
 *   npm run bench:gateway -- --duration=2 --rounds=1    # a smoke run
 *
 * Settings: the BENCH_* variables and flags of bench/options.ts (duration,
 * rounds, warm-up, queries and, to offer every gateway one rate for every
 * query, --fixed-rate).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startOursVariant, startPeerVariant } from './gateways.ts';
import type { BenchOptions, QueryId } from './options.ts';
import { summarizeProfile } from './profile.ts';
import { QUERIES } from './queries.ts';
import { describeCommit, describeMachine, isSmoke } from './report.ts';
import { writeSection } from './results-file.ts';
import { ROOT } from './services.ts';
import {
  measureSideBySide,
  prepareReplayedStack,
  recordAndStopSubgraphs,
  type NamedGateway,
  type SideBySideSample,
} from './side-by-side.ts';
import { runBench, say } from './stack.ts';
import { median } from './stats.ts';

/**
 * Requests per second each gateway is offered without sharing: about a third
 * of a core for the dearest of them on this machine class, so that three
 * gateways and the load generator never saturate two cores.
 */
const RATE: Record<QueryId, number> = { a: 150, d: 150, b: 60, c: 40, w: 12 };
/** The target: our gateway's CPU per request without sharing at most half the stock gateway's. */
const TARGET_VS_STOCK = 0.5;

const NO_SHARING = ['ours, no sharing', 'stock Apollo', 'Hive Gateway, fetch dedup off'] as const;
const SHARING = ['ours as it ships (sharing on)', 'Hive Gateway as it ships (fetch dedup on)'] as const;

async function main(options: BenchOptions): Promise<void> {
  const stack = await prepareReplayedStack(options);
  const context = stack.replayContext;
  const port = (offset: number) => options.BENCH_PORT_BASE + 20 + offset;
  say('starting the gateways…');
  const gateways: NamedGateway[] = [
    {
      ...(await startOursVariant('ours-noshare', context, { name: 'cpu-ours-noshare', port: port(0), settings: {} })),
      id: 'ours-noshare',
      name: NO_SHARING[0],
    },
    {
      ...(await startPeerVariant('stock', context, { name: 'cpu-stock', port: port(1) })),
      id: 'stock',
      name: NO_SHARING[1],
    },
    {
      ...(await startPeerVariant('hive', context, {
        name: 'cpu-hive-nodedup',
        port: port(2),
        configFile: join(ROOT, 'bench/peers/hive-no-fetch-dedup.config.mjs'),
        configNote: 'deduplicateInflightRequests off, its defaults otherwise',
      })),
      id: 'hive',
      name: NO_SHARING[2],
    },
    {
      ...(await startOursVariant('ours-off', context, { name: 'cpu-ours-sharing', port: port(3), settings: {} })),
      id: 'ours-off',
      name: SHARING[0],
    },
    { ...(await startPeerVariant('hive', context, { name: 'cpu-hive', port: port(4) })), id: 'hive', name: SHARING[1] },
  ];
  const recorded = await recordAndStopSubgraphs(stack, gateways, options.BENCH_QUERIES);
  const byName = (names: readonly string[]) => gateways.filter((g) => names.includes(g.name));
  const load = (connections: number, rate: number) => ({
    rounds: options.BENCH_ROUNDS,
    durationSeconds: options.BENCH_DURATION_SECONDS,
    warmupSeconds: options.BENCH_WARMUP_SECONDS,
    connections,
    rate,
  });

  const alone = new Map<QueryId, Map<string, SideBySideSample[]>>();
  const shared = new Map<QueryId, Map<string, SideBySideSample[]>>();
  for (const queryId of options.BENCH_QUERIES) {
    const rate = options.BENCH_FIXED_RATE || RATE[queryId];
    say(`(${queryId}) without sharing, ${rate} requests/s each…`);
    alone.set(queryId, await measureSideBySide(stack, byName(NO_SHARING), recorded, queryId, load(8, rate)));
    say(`(${queryId}) with sharing, 50 connections each, as fast as answered…`);
    shared.set(queryId, await measureSideBySide(stack, byName(SHARING), recorded, queryId, load(50, 0)));
  }
  // Our gateway writes its CPU profile (--profile) when it exits.
  for (const gateway of gateways) await gateway.process.stop();
  await stack.replay.close();
  for (const id of options.BENCH_PROFILE ? (['ours-noshare', 'ours-off'] as const) : []) {
    const dir = join(stack.profileDir, id);
    const profile = existsSync(dir) ? summarizeProfile(dir, ROOT, 40) : undefined;
    if (!profile) continue;
    say(
      `profile of ours (${id}, ${profile.file}), by package: ${profile.packages
        .slice(0, 10)
        .map((p) => `${p.name} ${(p.share * 100).toFixed(0)}%`)
        .join(', ')}; top functions by self time:`,
    );
    for (const f of profile.functions.slice(0, 40))
      say(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }

  // The requests' own CPU (idle CPU taken out, bench/side-by-side.ts), then the rest of the picture.
  const cpuCells = (runs: SideBySideSample[]) => {
    const cpus = runs.map((s) => s.busyCpuMsPerRequest);
    return [
      `${median(cpus).toFixed(3)} (${Math.min(...cpus).toFixed(3)}–${Math.max(...cpus).toFixed(3)})`,
      median(runs.map((s) => s.cpuMsPerRequest)).toFixed(3),
      median(runs.map((s) => s.idleCpuMsPerSecond)).toFixed(0),
    ].join(' | ');
  };
  // Ratios round by round (each round measured the gateways at once), then their median and range.
  const ratioCell = (runs: SideBySideSample[], reference: SideBySideSample[]) => {
    const ratios = runs.map((s, i) => s.busyCpuMsPerRequest / reference[i]!.busyCpuMsPerRequest);
    return {
      ratio: median(ratios),
      text: `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    };
  };
  const rowsAlone: string[] = [];
  const rowsShared: string[] = [];
  const targets: string[] = [];
  for (const queryId of options.BENCH_QUERIES) {
    const samples = alone.get(queryId)!;
    const stock = samples.get(NO_SHARING[1])!;
    const hive = samples.get(NO_SHARING[2])!;
    for (const name of NO_SHARING) {
      const runs = samples.get(name)!;
      rowsAlone.push(
        `| ${queryId} | ${name} | ${median(runs.map((s) => s.rps)).toFixed(0)} | ${median(runs.map((s) => s.p99Ms)).toFixed(1)} | ${cpuCells(runs)} | ${name === NO_SHARING[1] ? '' : ratioCell(runs, stock).text} | ${name === NO_SHARING[2] ? '' : ratioCell(runs, hive).text} |`,
      );
    }
    const vsStock = ratioCell(samples.get(NO_SHARING[0])!, stock).ratio;
    targets.push(
      `| gateway CPU per request without sharing, ours ÷ stock | (${queryId}) | ${vsStock.toFixed(2)}× | ≤ ${TARGET_VS_STOCK}× | ${vsStock <= TARGET_VS_STOCK ? 'met' : '**missed**'} |`,
    );
    const sharing = shared.get(queryId)!;
    const hiveShared = sharing.get(SHARING[1])!;
    for (const name of SHARING) {
      const runs = sharing.get(name)!;
      rowsShared.push(
        `| ${queryId} | ${name} | ${median(runs.map((s) => s.rps)).toFixed(0)} | ${median(runs.map((s) => s.p99Ms)).toFixed(1)} | ${cpuCells(runs)} | ${name === SHARING[1] ? '' : ratioCell(runs, hiveShared).text} |`,
      );
    }
    const vsHive = ratioCell(sharing.get(SHARING[0])!, hiveShared).ratio;
    targets.push(
      `| gateway CPU per request with sharing, ours ÷ Hive (its fetch dedup on) | (${queryId}) | ${vsHive.toFixed(2)}× | ≤ 1× | ${vsHive <= 1 ? 'met' : '**missed**'} |`,
    );
  }

  const machine = describeMachine();
  const commit = describeCommit(ROOT);
  const commands = [...new Map(gateways.map((g) => [g.name, g.command])).entries()];
  writeSection(
    join(resolve(ROOT, options.BENCH_OUTPUT_DIR), 'RESULTS.md'),
    'gateway-cpu',
    [
      "## Gateway CPU per request, like with like (the gateway's own cost)",
      '',
      ...(isSmoke(options)
        ? ['> **SMOKE RUN — these figures mean nothing**; run `npm run bench:gateway` on a quiet machine.', '']
        : []),
      `- **Date:** ${new Date().toISOString().slice(0, 10)}; **machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}; **commit:** \`${commit.sha}\`${commit.dirty ? ' (with uncommitted changes)' : ''}; our gateway as ${stack.runtimeNote}`,
      `- \`npm run bench:gateway\`: ${options.BENCH_ROUNDS} round(s) of ${options.BENCH_DURATION_SECONDS} s per query and table; in each round the gateways of a table get the same load **at the same time**, so a busy moment of the machine weighs on each alike; ratios are taken round by round (median and range over rounds).`,
      '- **Subgraphs replayed** (bench/replay.ts): every subgraph answer was recorded from the real services, which were then stopped. The gateways still parse, validate, plan, authorize, sign, send, merge and serialize everything; only the services’ work is gone, so what is measured is the gateway alone, on cores it shares with nothing but the load generator.',
      '- **Idle taken out:** a gateway burns CPU with no request at all (timers, health checks, Kafka heartbeats); at these moderate rates that would be charged to each second’s few requests. Before each round every gateway’s idle CPU is measured (3 s, no load, side by side) and taken out of the round’s CPU: the first CPU column and the ratios are what the requests themselves cost; "with idle" is the plain figure.',
      '- Our gateway runs with every protection on (bench/ours.env: token verification, operation limits, rate limits in Redis, signed subgraph calls, metrics, access log).',
      '',
      '| gateway | how it runs |',
      '|---|---|',
      ...commands.map(([name, command]) => `| ${name} | ${command} |`),
      '',
      `### Without sharing: each request costs its own (fixed rate per gateway: ${
        options.BENCH_FIXED_RATE
          ? `${options.BENCH_FIXED_RATE}/s`
          : Object.entries(RATE)
              .filter(([id]) => options.BENCH_QUERIES.includes(id as QueryId))
              .map(([id, rate]) => `(${id}) ${rate}/s`)
              .join(', ')
      }, 8 connections)`,
      '',
      '| query | gateway | req/s | p99 ms | gateway CPU ms/req, idle taken out: median (range) | with idle | idle CPU ms/s | ÷ stock | ÷ Hive, fetch dedup off |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rowsAlone,
      '',
      '### With sharing: one customer’s identical requests, 50 connections, as fast as answered',
      '',
      '| query | gateway | req/s | p99 ms | gateway CPU ms/req, idle taken out: median (range) | with idle | idle CPU ms/s | ÷ Hive |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
      ...rowsShared,
      '',
      '### Targets',
      '',
      '| target | query | measured (median) | goal | result |',
      '|---|---|---:|---|---|',
      ...targets,
      '',
      ...options.BENCH_QUERIES.map((id) => `- (${id}) ${QUERIES[id].title}; subgraphs: ${QUERIES[id].subgraphs}.`),
      '',
      'Where the rest of our gateway’s time goes (its profile), and why a target is missed: bench/README.md, “Where the time goes”.',
    ].join('\n'),
  );
  say('wrote its section of bench/RESULTS.md');
}

await runBench('npm run bench:gateway', main, { BENCH_QUERIES: 'a,b,c,w', BENCH_ROUNDS: '5' });
