import type { QueryId } from './options.ts';
import { QUERIES } from './queries.ts';
import { SUBGRAPHS, type SubgraphName } from './services.ts';
import { median } from './stats.ts';

/**
 * What `npm run bench:services` keeps (bench/services-cpu-results.json) and
 * how its section of RESULTS.md is written from it.
 */
export type Process = SubgraphName | 'gateway';
export const PROCESSES: Process[] = [...SUBGRAPHS, 'gateway'];

export interface QuerySamples {
  /** Per round: CPU ms per request above idle, per process. */
  cpu: Record<Process, number[]>;
  rps: number[];
  p99Ms: number[];
}

export interface ServicesRun {
  /** Set by hand in the results file when a run was made differently (what was changed, and why). */
  note?: string;
  date: string;
  commit: { sha: string; dirty: boolean };
  machine: string;
  loadAverage: { start: string; end: string };
  runtime: string;
  smoke: boolean;
  settings: { rate: number; rounds: number; durationSeconds: number };
  /** CPU ms a second each process burns with no load (subtracted from the samples). */
  idleMsPerSecond: Record<Process, number>;
  queries: Partial<Record<QueryId, QuerySamples>>;
  /** With --profile: the top packages and functions of each subgraph by self time. */
  profiles?: Partial<Record<SubgraphName, { packages: string[]; functions: string[] }>>;
}

/** Service CPU per request (all four subgraphs) the issue asks for, without sharing. */
const TARGETS_MS: Partial<Record<QueryId, number>> = { a: 0.5, b: 2 };

const cell = (values: number[] | undefined) =>
  values?.length
    ? `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`
    : '–';

/** What the results file keeps: every labelled run, and what was found reading them (written by hand, kept). */
export interface ServicesResults {
  runs: Record<string, ServicesRun>;
  /** Where the time goes and why a target is missed: markdown list items, shown under the tables. */
  findings?: string[];
}

/** The run the targets are judged on: `after` (the default label: the code as it is) when kept, else the last unprofiled run. */
export function judgedRun(runs: ServicesResults['runs']): string | undefined {
  const labels = measuredRuns(runs);
  return labels.includes('after') ? 'after' : labels.at(-1);
}

/** The labels of the runs whose CPU figures count: a profiled run's CPU is inflated by the profiler (it shows where the time goes, not how much). */
function measuredRuns(runs: ServicesResults['runs']): string[] {
  return Object.keys(runs).filter((l) => !runs[l]!.profiles);
}

/** CPU ms all four subgraphs spent on one request of a query in a run: the median over its rounds of their sum. */
export function serviceCpuPerRequest(run: ServicesRun, queryId: QueryId): number | undefined {
  const samples = run.queries[queryId];
  if (!samples) return undefined;
  return median(samples.rps.map((_, i) => SUBGRAPHS.reduce((sum, n) => sum + samples.cpu[n][i]!, 0)));
}

/** The section: one table of every kept run (label) per query, the findings, then how each run was made. */
export function renderServicesSection({ runs, findings }: ServicesResults): string {
  const labels = measuredRuns(runs);
  const queryIds = [...new Set(labels.flatMap((l) => Object.keys(runs[l]!.queries)))] as QueryId[];
  const lines = [
    '## Service CPU per request (no sharing)',
    '',
    '`npm run bench:services`: our gateway without any sharing (`ours-noshare`: every request runs on its own, as personal pages of many customers do) in front of the four subgraphs in production mode; one query at a time at a fixed offered rate (open model) low enough that the two cores are not saturated; alternating rounds. Each figure is the CPU milliseconds a process spent per request above what it spends idle (outbox relay, consumers), **median (range over rounds)**.',
    '',
  ];
  if (labels.some((l) => runs[l]!.smoke))
    lines.push(
      '> **Includes a SMOKE RUN — its figures mean nothing**; run `npm run bench:services` on a quiet machine.',
      '',
    );
  for (const queryId of queryIds) {
    const query = QUERIES[queryId];
    lines.push(
      `### (${queryId}) ${query.title}`,
      '',
      '| run | users | products | orders | notifications | **all four** | gateway | req/s | p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const label of labels) {
      const samples = runs[label]!.queries[queryId];
      if (!samples) continue;
      const total = samples.rps.map((_, i) => SUBGRAPHS.reduce((sum, name) => sum + samples.cpu[name][i]!, 0));
      lines.push(
        `| ${label} | ${SUBGRAPHS.map((n) => cell(samples.cpu[n])).join(' | ')} | **${cell(total)}** | ${cell(samples.cpu.gateway)} | ${median(samples.rps).toFixed(0)} | ${median(samples.p99Ms).toFixed(0)} |`,
      );
    }
    lines.push('');
  }
  const latest = judgedRun(runs);
  if (latest) {
    lines.push(`Targets (issue 14), in **${latest}**:`, '');
    for (const [queryId, target] of Object.entries(TARGETS_MS) as [QueryId, number][]) {
      const total = serviceCpuPerRequest(runs[latest]!, queryId);
      if (total === undefined) continue;
      lines.push(
        `- (${queryId}) ${QUERIES[queryId].title.split(' (')[0]}: ${total.toFixed(2)} ms of service CPU per request, target ≤ ${target} ms: **${total <= target ? 'met' : 'missed'}**.`,
      );
    }
    lines.push('');
  }
  if (findings?.length) lines.push('What the profiles and these runs say:', '', ...findings.map((f) => `- ${f}`), '');
  lines.push('How each run was made:', '');
  for (const label of Object.keys(runs)) {
    const run = runs[label]!;
    lines.push(
      `- **${label}**: ${run.note ? `${run.note}; ` : ''}${run.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${run.commit.sha.slice(0, 12)}\`${run.commit.dirty ? ' (with uncommitted changes)' : ''}; ${run.machine}; load average ${run.loadAverage.start} at the start, ${run.loadAverage.end} at the end; ${run.settings.rounds} round(s) of ${run.settings.durationSeconds} s per query at ${run.settings.rate} req/s; services as ${run.runtime}; idle CPU ms/s: ${PROCESSES.map((p) => `${p} ${run.idleMsPerSecond[p].toFixed(1)}`).join(', ')}.`,
    );
  }
  for (const label of labels) {
    const profiles = runs[label]!.profiles;
    if (!profiles) continue;
    lines.push('', `Where the time went in **${label}** (self time of each subgraph under \`--cpu-prof\`):`, '');
    for (const [name, profile] of Object.entries(profiles)) {
      lines.push(`- **${name}**: ${profile.packages.join(', ')}`);
      for (const f of profile.functions.slice(0, 6)) lines.push(`  - ${f}`);
    }
  }
  return lines.join('\n');
}
