/**
 * `npm run bench:tracing`: what OpenTelemetry tracing costs our gateway.
 * Three processes of our gateway (every protection on, response cache off, no
 * sharing: each request costs its own) on the same subgraphs: tracing off (no
 * OTLP endpoint, the default), on with 10% of traces sampled
 * (parentbased_traceidratio 0.1) and on with every trace sampled; the same
 * load on each in alternating rounds; gateway CPU per request compared.
 *
 * Spans go to an OTLP/HTTP receiver in this process that accepts and counts
 * them, as a collector would, so the figure is the gateway's cost of making
 * and exporting spans and not a collector's. The subgraphs run untraced, so
 * the gateway's share is what is measured. Writes its section of
 * bench/RESULTS.md.
 *
 *   npm run bench:tracing                                 # 6 rounds × 10 s per variant, query b
 *   npm run bench:tracing -- --duration=2 --rounds=1      # a smoke run
 *
 * Settings: the BENCH_* variables and flags of bench/options.ts (only
 * duration, rounds, connections, warm-up and queries apply).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { startOursVariant, type RunningGatewayProcess } from './gateways.ts';
import { measure, runLoad, type Sample } from './measure.ts';
import { type BenchOptions, type QueryId } from './options.ts';
import { QUERIES, requestBody, verifySameData } from './queries.ts';
import { describeCommit, describeMachine, isSmoke } from './report.ts';
import { writeSection } from './results-file.ts';
import { logInCustomer } from './seed.ts';
import { ROOT } from './services.ts';
import { prepareStack, runBench, say } from './stack.ts';

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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(options: BenchOptions): Promise<void> {
  const { context, subgraphs, runtimeNote } = await prepareStack(options);
  const sink = await startSpanSink();
  const gateways: (RunningGatewayProcess & { name: string })[] = [];
  for (const [index, variant] of VARIANTS.entries()) {
    say(`starting our gateway, ${variant.name}…`);
    const settings: Record<string, string> = {
      ...variant.settings,
      ...('traced' in variant ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: '1000' } : {}),
    };
    const port = options.BENCH_PORT_BASE + 20 + index;
    const running = await startOursVariant('ours-noshare', context, { name: `tracing-${index}`, port, settings });
    gateways.push({ ...running, id: 'ours-noshare', name: variant.name });
  }
  const token = await logInCustomer(gateways[0]!.url);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const subgraphPids = Object.values(subgraphs).map((p) => p.pid);

  const samples = new Map<string, Map<QueryId, Sample[]>>(gateways.map((g) => [g.name, new Map()]));
  for (const queryId of options.BENCH_QUERIES) {
    const query = QUERIES[queryId];
    // The same data from each: tracing must never change an answer. (Keyed by id, all three are ours-noshare.)
    const expected = new Map<string, string>();
    for (const gateway of gateways)
      expected.set(gateway.name, (await verifySameData(query, [gateway], token)).get(gateway.id)!);
    if (new Set(expected.values()).size !== 1) throw new Error(`query (${queryId}): the variants answer differently`);
    const load = (gateway: (typeof gateways)[number], durationSeconds: number) => ({
      url: gateway.url,
      body: requestBody(query),
      headers,
      expectBody: expected.get(gateway.name)!,
      connections: options.BENCH_CONNECTIONS,
      durationSeconds,
    });
    if (options.BENCH_WARMUP_SECONDS > 0)
      for (const gateway of gateways) await runLoad(load(gateway, options.BENCH_WARMUP_SECONDS));
    for (let round = 1; round <= options.BENCH_ROUNDS; round += 1) {
      const shift = (round - 1) % gateways.length;
      for (const gateway of [...gateways.slice(shift), ...gateways.slice(0, shift)]) {
        await new Promise((r) => setTimeout(r, 500));
        const sample = await measure(load(gateway, options.BENCH_DURATION_SECONDS), round, {
          gateway: gateway.process.pid,
          subgraphs: subgraphPids,
        });
        if (sample.failed || sample.mismatches)
          throw new Error(`${gateway.name}: ${sample.failed} failed and ${sample.mismatches} wrong answers`);
        const byQuery = samples.get(gateway.name)!;
        byQuery.set(queryId, [...(byQuery.get(queryId) ?? []), sample]);
        say(
          `round ${round}/${options.BENCH_ROUNDS} (${queryId}) ${gateway.name.padEnd(24)} ${sample.rps.toFixed(0).padStart(6)} req/s  ` +
            `p99 ${sample.p99Ms.toFixed(1)} ms  CPU ${sample.cpuMsPerRequest.toFixed(3)} ms/req`,
        );
      }
    }
  }
  // Spans still batched in the gateways are exported when they stop.
  for (const gateway of gateways) await gateway.process.stop();
  sink.server.close();
  say(`the span receiver took ${sink.exports()} exports, ${(sink.bytes() / 2 ** 20).toFixed(1)} MiB`);
  if (sink.exports() === 0) throw new Error('no span reached the receiver: tracing was not on in the traced variants');

  const machine = describeMachine();
  const commit = describeCommit(ROOT);
  const rows: string[] = [];
  const verdicts: string[] = [];
  for (const queryId of options.BENCH_QUERIES) {
    const off = median(
      samples
        .get(VARIANTS[0].name)!
        .get(queryId)!
        .map((s) => s.cpuMsPerRequest),
    );
    for (const variant of VARIANTS) {
      const runs = samples.get(variant.name)!.get(queryId)!;
      const cpus = runs.map((s) => s.cpuMsPerRequest);
      const cpu = median(cpus);
      if (variant === VARIANTS[1]) {
        // The target needs a difference this run can resolve: one smaller than the rounds' own spread is not.
        const offRuns = samples
          .get(VARIANTS[0].name)!
          .get(queryId)!
          .map((s) => s.cpuMsPerRequest);
        const spread = (Math.max(...offRuns) - Math.min(...offRuns)) / off;
        const change = (cpu - off) / off;
        verdicts.push(
          Math.abs(change) < spread
            ? `- (${queryId}) **Verdict: not resolved.** 10% sampling measured ${(change * 100).toFixed(1)}% against tracing off, but tracing off alone varied by ${(spread * 100).toFixed(0)}% between its rounds: this run cannot tell whether the 5% target is met.`
            : `- (${queryId}) **Verdict:** 10% sampling costs ${(change * 100).toFixed(1)}% more gateway CPU per request: the 5% target is ${change <= 0.05 ? 'met' : 'missed'}.`,
        );
      }
      const change =
        variant === VARIANTS[0] ? '' : `${cpu >= off ? '+' : ''}${(((cpu - off) / off) * 100).toFixed(1)}%`;
      rows.push(
        `| ${queryId} | ${variant.name} | ${median(runs.map((s) => s.rps)).toFixed(0)} | ${median(runs.map((s) => s.p99Ms)).toFixed(1)} | ${cpu.toFixed(3)} (${Math.min(...cpus).toFixed(3)}–${Math.max(...cpus).toFixed(3)}) | ${change} |`,
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
      `- **Date:** ${new Date().toISOString().slice(0, 10)}; **machine:** ${machine.cpu}, ${machine.cores} cores, ${machine.ramGb} GB RAM, Node ${machine.node}; **commit:** \`${commit.sha}\`${commit.dirty ? ' (with uncommitted changes)' : ''}; services as ${runtimeNote}`,
      `- \`npm run bench:tracing\`: our gateway (every protection on, cache off, no sharing) three times on the same subgraphs — tracing off (no endpoint), 10% of traces sampled, every trace sampled — ${options.BENCH_ROUNDS} alternating round(s) of ${options.BENCH_DURATION_SECONDS} s at ${options.BENCH_CONNECTIONS} connections per variant and query; medians over rounds.`,
      "- Spans are exported over OTLP/HTTP to a receiver that accepts them (a collector's part is not counted); the subgraphs run untraced. Requests carry no `traceparent`, so the gateway starts (and samples) each trace.",
      '- Target: at 10% sampling at most 5% more gateway CPU per request than with tracing off.',
      '',
      '- Rounds on a shared virtual machine vary widely: a change smaller than the range over rounds is noise, not a cost.',
      '',
      '| query | gateway | req/s | p99 ms | gateway CPU ms/req, median (range over rounds) | vs off |',
      '|---|---|---:|---:|---:|---:|',
      ...rows,
      '',
      ...verdicts,
    ].join('\n'),
  );
  say('wrote its section of bench/RESULTS.md');
}

// Query b (the order history) unless BENCH_QUERIES or --queries says otherwise.
// Six rounds: a few per cent is what is measured, and rounds here vary by far more than that.
await runBench('npm run bench:tracing', main, { BENCH_QUERIES: 'b', BENCH_ROUNDS: '6' });
