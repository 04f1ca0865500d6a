import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { sectionsOf } from './results-file.ts';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_LABELS } from './gateways.ts';
import type { Sample } from './measure.ts';
import type { BenchOptions, GatewayId, QueryId } from './options.ts';
import type { ProfileSummary } from './profile.ts';
import type { SubgraphName } from './services.ts';
import { QUERIES } from './queries.ts';
import { median } from './stats.ts';

/** bench/RESULTS.md (for people) and bench/results.json (every sample, for tools). */
export interface BenchResults {
  smoke: boolean;
  date: string;
  machine: { cpu: string; cores: number; ramGb: number; node: string; os: string };
  commit: { sha: string; dirty: boolean };
  settings: Pick<
    BenchOptions,
    'BENCH_DURATION_SECONDS' | 'BENCH_ROUNDS' | 'BENCH_CONNECTIONS' | 'BENCH_WARMUP_SECONDS' | 'BENCH_PROFILE'
  >;
  runtime: string;
  gateways: { id: GatewayId; label: string; command: string }[];
  /** Settings of our gateway as passed (secrets left out). */
  oursSettings: Record<string, string>;
  /** What GET /metrics on our gateway answered: proof that metrics were on. */
  metricsProbe: string;
  samples: Partial<Record<QueryId, Partial<Record<GatewayId, Sample[]>>>>;
  /** CPU profiles of our gateway (`--profile`), by variant. */
  profiles: Partial<Record<GatewayId, ProfileSummary>>;
  /** CPU profiles of the measured subgraphs (`--profile`), over every gateway's rounds. */
  subgraphProfiles?: Partial<Record<SubgraphName, ProfileSummary>>;
}

/** Runs below this are for checking that the bench works, not for its figures. */
export const isSmoke = (options: BenchOptions) => options.BENCH_DURATION_SECONDS < 10 || options.BENCH_ROUNDS < 3;

export function describeMachine(): BenchResults['machine'] {
  let os = release();
  try {
    os = `${/^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux'}, kernel ${release()}`;
  } catch {
    // not every system has /etc/os-release
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    ramGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os,
  };
}

export function describeCommit(root: string): BenchResults['commit'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  try {
    return { sha: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
  } catch {
    return { sha: 'unknown (not a git checkout)', dirty: false };
  }
}

type Summary = Record<
  'rps' | 'p50Ms' | 'p99Ms' | 'cpuMsPerRequest' | 'rssMb' | 'subgraphsCpuMsPerRequest' | 'loadGeneratorCpuMsPerRequest',
  number
> & {
  failed: number;
  mismatches: number;
};

function summarize(samples: Sample[] | undefined): Summary | undefined {
  if (!samples?.length) return undefined;
  const m = (key: keyof Sample) => median(samples.map((s) => s[key]));
  return {
    rps: m('rps'),
    p50Ms: m('p50Ms'),
    p99Ms: m('p99Ms'),
    cpuMsPerRequest: m('cpuMsPerRequest'),
    rssMb: m('rssMb'),
    subgraphsCpuMsPerRequest: m('subgraphsCpuMsPerRequest'),
    loadGeneratorCpuMsPerRequest: m('loadGeneratorCpuMsPerRequest'),
    failed: samples.reduce((n, s) => n + s.failed, 0),
    mismatches: samples.reduce((n, s) => n + s.mismatches, 0),
  };
}

const fmt = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !b ? undefined : a / b;
const times = (value: number | undefined) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}×`;

interface TargetCheck {
  target: string;
  query: QueryId;
  /** The ratio for ours (cache off), which the target is judged on. */
  value: number | undefined;
  /** The same ratio for ours without sharing (for information). */
  withoutSharing: number | undefined;
  goal: string;
  met: boolean | undefined;
  note?: string;
}

function checkTargets(results: BenchResults, summaries: Map<QueryId, Map<GatewayId, Summary>>): TargetCheck[] {
  const get = (q: QueryId, g: GatewayId) => summaries.get(q)?.get(g);
  const checks: TargetCheck[] = [];
  type Metric = 'rps' | 'cpuMsPerRequest' | 'p99Ms';
  const add = (
    target: string,
    q: QueryId,
    ours: GatewayId,
    peer: GatewayId,
    metric: Metric,
    goal: string,
    ok: (v: number) => boolean,
    note?: string,
  ) => {
    const value = ratio(get(q, ours)?.[metric], get(q, peer)?.[metric]);
    const withoutSharing =
      ours === 'ours-off' ? ratio(get(q, 'ours-noshare')?.[metric], get(q, peer)?.[metric]) : undefined;
    const met = value === undefined || !Number.isFinite(value) ? undefined : ok(value);
    checks.push({ target, query: q, value, withoutSharing, goal, met, ...(note ? { note } : {}) });
  };
  for (const q of ['b', 'c'] as const) {
    add('RPS ours ÷ stock', q, 'ours-off', 'stock', 'rps', '≥ 3×', (v) => v >= 3);
    add('RPS ours ÷ Hive', q, 'ours-off', 'hive', 'rps', '≥ 1×', (v) => v >= 1);
  }
  const at50 =
    results.settings.BENCH_CONNECTIONS === 50
      ? undefined
      : `measured at ${results.settings.BENCH_CONNECTIONS} connections, the target is stated at 50`;
  for (const q of ['a', 'b', 'c'] as const) {
    add('gateway CPU per request ours ÷ stock', q, 'ours-off', 'stock', 'cpuMsPerRequest', '≤ 0.35×', (v) => v <= 0.35);
    add('p99 latency ours ÷ stock', q, 'ours-off', 'stock', 'p99Ms', '≤ 0.5×', (v) => v <= 0.5, at50);
  }
  add('RPS ours with the cache on ÷ stock', 'a', 'ours-on', 'stock', 'rps', '≥ 10×', (v) => v >= 10);
  return checks;
}

export function writeResults(results: BenchResults, outputDir: string): string {
  writeFileSync(join(outputDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const summaries = new Map<QueryId, Map<GatewayId, Summary>>();
  for (const [q, byGateway] of Object.entries(results.samples) as [QueryId, Partial<Record<GatewayId, Sample[]>>][]) {
    const map = new Map<GatewayId, Summary>();
    for (const [g, samples] of Object.entries(byGateway) as [GatewayId, Sample[]][]) {
      const summary = summarize(samples);
      if (summary) map.set(g, summary);
    }
    summaries.set(q, map);
  }
  const s = results.settings;
  const lines: string[] = [];
  lines.push('# Benchmark results: our gateway, stock Apollo gateway and Hive Gateway', '');
  if (results.smoke) {
    lines.push(
      '> **SMOKE RUN — these figures mean nothing.** This file comes from a short run that only proves the bench works end to end',
      `> (${s.BENCH_DURATION_SECONDS}s × ${s.BENCH_ROUNDS} round(s); a real run is ≥ 10s × ≥ 3 rounds on a quiet machine). Run \`npm run bench\` to replace it.`,
      '',
    );
  }
  lines.push(
    `- **Date:** ${results.date}`,
    `- **Machine:** ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.ramGb} GB RAM; ${results.machine.os}; Node ${results.machine.node}`,
    `- **Commit:** \`${results.commit.sha}\`${results.commit.dirty ? ' (with uncommitted changes)' : ''}`,
    `- **Settings:** ${s.BENCH_ROUNDS} alternating round(s) of ${s.BENCH_DURATION_SECONDS}s per gateway per query, ${s.BENCH_CONNECTIONS} connections (autocannon 9), ${s.BENCH_WARMUP_SECONDS}s warm-up per gateway per query before round 1${s.BENCH_PROFILE ? '; **profiled run** (our gateway under --cpu-prof, which slows it)' : ''}`,
    `- **Our services ran as:** ${results.runtime}`,
    '',
    '## Setup',
    '',
    'One machine; the same four subgraph processes (PostgreSQL, Redis and Kafka from `scripts/services/services.sh`) and the same supergraph SDL behind every gateway; each gateway its own process, started once, measured in alternating rounds (each round begins with the next gateway, so none always goes first).',
    '',
    '| gateway | how it runs |',
    '|---|---|',
    ...results.gateways.map((g) => `| ${g.label} | ${g.command} |`),
    '',
    `Our gateway runs with every protection on: \`NODE_ENV=production\`, access-token verification with the bench customer's real token, operation limits, rate limits (Redis buckets, limits from \`bench/rate-limits.yaml\` that the load never reaches), revocation over Kafka, signed subgraph calls, Prometheus metrics (${results.metricsProbe}). Its settings (\`bench/ours.env\` and the bench's own): ${Object.entries(
      results.oursSettings,
    )
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', ')}.`,
    '',
    '**Sharing:** all the load is one customer sending one query over and over, so our gateway\'s in-flight sharing (identical in-flight operations of the same caller run once, `OPERATION_DEDUP`; identical in-flight subgraph fetches of the same caller are sent once, `SUBGRAPH_DEDUP`; both on by default) answers many requests with one execution. Hive Gateway by default shares identical in-flight subgraph fetches too (its HTTP transport\'s \`deduplicateInflightRequests\`), but not whole operations (its inbound deduplication is off by default); the stock gateway shares nothing. The "subgraphs CPU ms/req" column shows the effect. *ours (cache off, no sharing)* turns both off: it shows what one request costs our gateway on its own, the fairer per-request comparison; real traffic from many users shares less than this bench does.',
    '',
    "The peers verify no token; each signs its subgraph calls as our gateway does (bench/peers/sign.mjs: stock through `buildService`, Hive through an `onFetch` plugin), acting for the bench customer, so the subgraphs run in production mode (`NODE_ENV=production`) and verify every call, whichever gateway sends it. Every gateway gets the same request bytes, the customer's token included. Before measuring, each query's answer from every gateway was checked to be the same data.",
    '',
    `**Shared CPU:** the load generator (autocannon, in the bench's own process), the subgraphs and the gateway under test share ${results.machine.cores} cores; the load generator runs with the same settings for every gateway. The CPU columns say where the time went: the gateway's own CPU per request is what the CPU target compares.`,
    '',
  );

  lines.push('## Results (median over rounds)', '');
  for (const [q, map] of summaries) {
    const query = QUERIES[q];
    lines.push(
      `### (${q}) ${query.title}`,
      '',
      `Subgraphs: ${query.subgraphs}.`,
      '',
      '```graphql',
      query.query,
      '```',
      '',
    );
    lines.push(
      '| gateway | RPS | p50 ms | p99 ms | gateway CPU ms/req | RSS MB | failed | other body | subgraphs CPU ms/req | load gen CPU ms/req |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [g, m] of map) {
      lines.push(
        `| ${GATEWAY_LABELS[g]} | ${fmt(m.rps, 0)} | ${fmt(m.p50Ms)} | ${fmt(m.p99Ms)} | ${fmt(m.cpuMsPerRequest, 3)} | ${fmt(m.rssMb, 0)} | ${m.failed} | ${m.mismatches} | ${fmt(m.subgraphsCpuMsPerRequest, 3)} | ${fmt(m.loadGeneratorCpuMsPerRequest, 3)} |`,
      );
    }
    lines.push('');
    const peers = (['stock', 'hive'] as const).filter((p) => map.has(p));
    const ours = (['ours-off', 'ours-on', 'ours-noshare'] as const).filter((o) => map.has(o));
    if (peers.length && ours.length) {
      lines.push('| ratio | RPS | p99 | gateway CPU/req |', '|---|---:|---:|---:|');
      for (const o of ours) {
        for (const p of peers) {
          const a = map.get(o)!;
          const b = map.get(p)!;
          lines.push(
            `| ${GATEWAY_LABELS[o]} ÷ ${GATEWAY_LABELS[p]} | ${times(ratio(a.rps, b.rps))} | ${times(ratio(a.p99Ms, b.p99Ms))} | ${times(ratio(a.cpuMsPerRequest, b.cpuMsPerRequest))} |`,
          );
        }
      }
      lines.push('');
    }
  }
  lines.push(
    '"failed": non-2xx responses, errors and timeouts over all rounds. "other body": 2xx responses whose body differed from the answer verified before the rounds (e.g. an error inside a 200).',
    '',
  );

  const checks = checkTargets(results, summaries);
  lines.push(
    '## Targets',
    '',
    'Judged on our gateway as configured (every protection on, sharing on) with the response cache **off**, except the cache target. "Without sharing" is the same ratio for ours with OPERATION_DEDUP and SUBGRAPH_DEDUP off, for information.',
    '',
  );
  lines.push('| target | query | measured | goal | result | without sharing |', '|---|---|---:|---|---|---:|');
  for (const c of checks) {
    const verdict = c.met === undefined ? 'n/a (not measured)' : c.met ? 'met' : '**NOT met**';
    lines.push(
      `| ${c.target} | (${c.query}) | ${times(c.value)} | ${c.goal} | ${verdict}${c.note ? ` (${c.note})` : ''} | ${c.withoutSharing === undefined ? '—' : times(c.withoutSharing)} |`,
    );
  }
  lines.push('');
  if (checks.some((c) => c.met === false)) {
    lines.push(
      Object.keys(results.profiles).length
        ? 'Where targets are not met, the profiles below show where our gateway spends its time.'
        : 'Where targets are not met, run `npm run bench -- --profile` for a CPU profile of our gateway (top functions by self time) and add it here.',
      '',
    );
  }
  /** A profile's top packages and functions by self time, as two tables. */
  const profileTables = (p: ProfileSummary, top: { packages: number; functions: number }) => [
    '| package | self ms | share |',
    '|---|---:|---:|',
    ...p.packages.slice(0, top.packages).map((x) => `| ${x.name} | ${fmt(x.selfMs, 0)} | ${fmt(x.share * 100)}% |`),
    '',
    '| function | where | self ms | share |',
    '|---|---|---:|---:|',
    ...p.functions
      .slice(0, top.functions)
      .map((f) => `| \`${f.name}\` | ${f.where || '—'} | ${fmt(f.selfMs, 0)} | ${fmt(f.share * 100)}% |`),
    '',
  ];
  for (const [id, p] of Object.entries(results.profiles) as [GatewayId, ProfileSummary][]) {
    lines.push(
      `## Profile of ${GATEWAY_LABELS[id]}`,
      '',
      `From \`${p.file}\`: ${fmt(p.totalMs / 1000)} s of CPU (idle time left out) over its start, the warm-up and the round, every query of the run.`,
      '',
    );
    lines.push(...profileTables(p, { packages: 15, functions: p.functions.length }));
  }
  const subgraphProfiles = Object.entries(results.subgraphProfiles ?? {}) as [SubgraphName, ProfileSummary][];
  if (subgraphProfiles.length) {
    lines.push(
      '## Profiles of the subgraphs',
      '',
      'Over the whole run (every gateway, every query, start-up included): what a request that reaches them costs.',
      '',
    );
    for (const [name, p] of subgraphProfiles) {
      lines.push(
        `### ${name}: ${fmt(p.totalMs / 1000)} s of CPU`,
        '',
        ...profileTables(p, { packages: 8, functions: 10 }),
      );
    }
  }
  lines.push(
    'Raw samples (every round): `bench/results.json`. Reproduce: `npm run bench` (options: `bench/options.ts`).',
    '',
  );
  const file = join(outputDir, 'RESULTS.md');
  // The sections of the other benches (compression, tracing, the mix) stay as they were.
  const kept = sectionsOf(file);
  writeFileSync(file, [lines.join('\n'), ...kept].join('\n'));
  return file;
}

/** The machine's load average now (1, 5, 15 min): a bench's figures are only as good as the machine was quiet. */
export const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** What the report of a bench mode that seeds its own data (the mix, subscriptions) begins with. */
export interface RunHeader {
  smoke: boolean;
  date: string;
  machine: BenchResults['machine'];
  commit: BenchResults['commit'];
  /** 1/5/15-minute load averages at the start and the end of the run. */
  loadAverage: { start: string; end: string };
  runtime: string;
  wallSeconds: number;
  seedSeconds: number;
}

/** The header of a run that began at `startedAt` (ms) with load `loadAtStart`, written when it ends. */
export function runHeader(run: {
  smoke: boolean;
  startedAt: number;
  loadAtStart: string;
  runtime: string;
  seedSeconds: number;
  root: string;
}): RunHeader {
  return {
    smoke: run.smoke,
    date: new Date().toISOString(),
    machine: describeMachine(),
    commit: describeCommit(run.root),
    loadAverage: { start: run.loadAtStart, end: loadAverage() },
    runtime: run.runtime,
    wallSeconds: (Date.now() - run.startedAt) / 1000,
    seedSeconds: run.seedSeconds,
  };
}
