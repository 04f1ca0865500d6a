/**
 * `npm run bench:tracing`: what OpenTelemetry tracing costs our gateway.
 * Three processes of our gateway (every protection on, response cache off, no
 * sharing: each request costs its own): tracing off (no OTLP endpoint, the
 * default), on with 10% of traces sampled (parentbased_traceidratio 0.1) and
 * on with every trace sampled. In each round all three get the same fixed
 * load at the same time, and their CPU per request is compared within the
 * round. The subgraphs are replayed (bench/replay.ts), so nothing but the
 * gateways and the load generator uses the cores.
 *
 * Spans go to an OTLP/HTTP receiver in this process that accepts and counts
 * them, as a collector would, so the figure is the gateway's cost of making
 * and exporting spans and not a collector's. Writes its section of
 * bench/RESULTS.md.
 *
 *   npm run bench:tracing                                 # 6 rounds × 10 s, 150 req/s per variant, query b
 *   npm run bench:tracing -- --duration=2 --rounds=1      # a smoke run
 *
 * Settings: the BENCH_* variables and flags of bench/options.ts (only
 * duration, rounds, connections, fixed rate, warm-up and queries apply).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { startOursVariant } from './gateways.ts';
import type { BenchOptions, QueryId } from './options.ts';
import { describeCommit, describeMachine, isSmoke } from './report.ts';
import { writeSection } from './results-file.ts';
import { ROOT } from './services.ts';
import {
  measureSideBySide,
  percent,
  prepareReplayedStack,
  recordAndStopSubgraphs,
  type NamedGateway,
  type SideBySideSample,
} from './side-by-side.ts';
import { runBench, say } from './stack.ts';
import { median } from './stats.ts';

const VARIANTS = [
  { name: 'tracing off', settings: {} },
  {
    name: 'tracing on, 10% sampled',
    settings: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
    traced: true,
  },
  {
    name: 'tracing on, every trace',
    settings: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    traced: true,
  },
] as const;

/** An OTLP/HTTP traces receiver that accepts everything: what the gateway exports, counted. */
async function startSpanSink(): Promise<{ url: string; exports: () => number; bytes: () => number; server: Server }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      exports += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, exports: () => exports, bytes: () => bytes, server };
}

async function main(options: BenchOptions): Promise<void> {
  const stack = await prepareReplayedStack(options);
  const sink = await startSpanSink();
  const gateways: NamedGateway[] = [];
  for (const [index, variant] of VARIANTS.entries()) {
    say(`starting our gateway, ${variant.name}…`);
    const settings: Record<string, string> = {
      ...variant.settings,
      ...('traced' in variant ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: '1000' } : {}),
    };
    const port = options.BENCH_PORT_BASE + 20 + index;
    const running = await startOursVariant('ours-noshare', stack.replayContext, {
      name: `tracing-${index}`,
      port,
      settings,
    });
    gateways.push({ ...running, id: 'ours-noshare', name: variant.name });
  }
  // The same data from each: tracing must never change an answer.
  const recorded = await recordAndStopSubgraphs(stack, gateways, options.BENCH_QUERIES);
  const samples = new Map<QueryId, Map<string, SideBySideSample[]>>();
  for (const queryId of options.BENCH_QUERIES)
    samples.set(
      queryId,
      await measureSideBySide(stack, gateways, recorded, queryId, {
        rounds: options.BENCH_ROUNDS,
        durationSeconds: options.BENCH_DURATION_SECONDS,
        warmupSeconds: options.BENCH_WARMUP_SECONDS,
        connections: options.BENCH_CONNECTIONS,
        rate: options.BENCH_FIXED_RATE,
      }),
    );
  // Spans still batched in the gateways are exported when they stop.
  for (const gateway of gateways) await gateway.process.stop();
  sink.server.close();
  await stack.replay.close();
  say(`the span receiver took ${sink.exports()} exports, ${(sink.bytes() / 2 ** 20).toFixed(1)} MiB`);
  if (sink.exports() === 0) throw new Error('no span reached the receiver: tracing was not on in the traced variants');

  const machine = describeMachine();
  const commit = describeCommit(ROOT);
  const rows: string[] = [];
  const verdicts: string[] = [];
  for (const queryId of options.BENCH_QUERIES) {
    const offRuns = samples.get(queryId)!.get(VARIANTS[0].name)!;
    for (const variant of VARIANTS) {
      const runs = samples.get(queryId)!.get(variant.name)!;
      // The requests' own CPU: each gateway's idle CPU, measured before the round, taken out (bench/side-by-side.ts).
      const cpus = runs.map((s) => s.busyCpuMsPerRequest);
      // Each round measured every variant at once: the change is taken round by round, against that round's
      // tracing off, and its median and range over rounds reported.
      const changes = runs.map((s, i) => s.busyCpuMsPerRequest / offRuns[i]!.busyCpuMsPerRequest - 1);
      const change =
        variant === VARIANTS[0]
          ? ''
          : `${percent(median(changes))} (${percent(Math.min(...changes))} to ${percent(Math.max(...changes))})`;
      if (variant === VARIANTS[1]) {
        const [low, mid, high] = [Math.min(...changes), median(changes), Math.max(...changes)];
        verdicts.push(
          high <= 0.05
            ? `- (${queryId}) **Verdict: met.** 10% sampling costs ${percent(mid)} gateway CPU per request (every round at most ${percent(high)}); the target is at most +5%.`
            : low > 0.05
              ? `- (${queryId}) **Verdict: missed.** 10% sampling costs ${percent(mid)} gateway CPU per request (every round at least ${percent(low)}); the target is at most +5%.`
              : `- (${queryId}) **Verdict: ${mid <= 0.05 ? 'met' : 'missed'} on the median** (${percent(mid)}), but rounds ranged from ${percent(low)} to ${percent(high)} around the +5% target.`,
        );
      }
      rows.push(
        `| ${queryId} | ${variant.name} | ${median(runs.map((s) => s.rps)).toFixed(0)} | ${median(runs.map((s) => s.p99Ms)).toFixed(1)} | ${median(cpus).toFixed(3)} (${Math.min(...cpus).toFixed(3)}–${Math.max(...cpus).toFixed(3)}) | ${median(runs.map((s) => s.cpuMsPerRequest)).toFixed(3)} | ${change} |`,
      );
    }
  }
  const smoke = isSmoke(options);
  writeSection(
    join(resolve(ROOT, options.BENCH_OUTPUT_DIR), 'RESULTS.md'),
    'tracing',
    [
      '## What tracing costs the gateway',
      '',
      ...(smoke
        ? ['> **SMOKE RUN — these figures mean nothing**; run `npm run bench:tracing` on a quiet machine.', '']
        : []),
      `- **Date:** ${new Date().toISOString().slice(0, 10)}; **machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}; **commit:** \`${commit.sha}\`${commit.dirty ? ' (with uncommitted changes)' : ''}; services as ${stack.runtimeNote}`,
      `- \`npm run bench:tracing\`: our gateway (every protection on, cache off, no sharing) three times — tracing off (no endpoint), 10% of traces sampled, every trace sampled — measured **side by side**: in each of ${options.BENCH_ROUNDS} round(s) of ${options.BENCH_DURATION_SECONDS} s all three get the same load at once (${options.BENCH_FIXED_RATE ? `${options.BENCH_FIXED_RATE} requests/s each` : 'as fast as they answer'}, ${options.BENCH_CONNECTIONS} connections), so a busy moment of the machine weighs on each alike; the change against tracing off is taken round by round.`,
      "- **Subgraphs replayed** (bench/replay.ts): each subgraph's answer to each distinct fetch was recorded from the real services, which were then stopped; the gateways still build, sign, send and merge every fetch, but the cores are theirs and the load generator's alone. (With the real subgraphs busy on the same two cores, tracing off alone varied by up to 88% between rounds.)",
      '- **Idle taken out:** before each round each gateway’s CPU with no load is measured (3 s) and taken out of the round’s, so the comparison is of what requests cost (the exporter’s timer, which runs idle too, is then left out: it is a few ms a second); "with idle" is the plain figure.',
      "- Spans are exported over OTLP/HTTP to a receiver that accepts them (a collector's part is not counted). Requests carry no `traceparent`, so the gateway starts (and samples) each trace.",
      '- Target: at 10% sampling at most 5% more gateway CPU per request than with tracing off.',
      '',
      '| query | gateway | req/s | p99 ms | gateway CPU ms/req, idle taken out: median (range over rounds) | with idle | vs off, median (range over rounds) |',
      '|---|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      ...verdicts,
    ].join('\n'),
  );
  say('wrote its section of bench/RESULTS.md');
}

// Query b (the order history) unless BENCH_QUERIES or --queries says otherwise; 150 requests/s to each of the three
// variants keeps the two cores short of saturation (a saturated core inflates CPU time per request).
await runBench('npm run bench:tracing', main, {
  BENCH_QUERIES: 'b',
  BENCH_ROUNDS: '6',
  BENCH_CONNECTIONS: '8',
  BENCH_FIXED_RATE: '150',
  // Ten seconds of unmeasured load first: the traced variants have more code to warm up.
  BENCH_WARMUP_SECONDS: '10',
});
