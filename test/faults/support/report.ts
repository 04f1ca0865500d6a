import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ScenarioResult } from './scenario.ts';

/**
 * The suite's figures: printed as tables after every run, and written into
 * docs/reliability.md (between its markers) when FAULTS_RECORD=1.
 */
const DOC = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url));
const BEGIN = '<!-- fault-suite:begin (written by `FAULTS_RECORD=1 npm run test:faults`) -->';
const END = '<!-- fault-suite:end -->';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
const millis = (ms: number) => `${Math.round(ms)} ms`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function summarize(result: ScenarioResult): string {
  const { shop, snapshot, kills, settings } = result;
  const attempts = shop.attempts('placeOrder');
  const acknowledged = shop.orders.filter((o) => o.acknowledgedAt);
  const ackLatency = acknowledged.map((o) => o.acknowledgedAt! - o.firstAttemptAt);
  const byStatus = new Map<string, number>();
  for (const order of snapshot.orders) byStatus.set(order.status, (byStatus.get(order.status) ?? 0) + 1);
  const outcomes = new Map<string, number>();
  for (const attempt of attempts) outcomes.set(attempt.outcome, (outcomes.get(attempt.outcome) ?? 0) + 1);

  const checks = table(
    ['check', 'result', 'measured'],
    result.checks.map((c) => [c.name, c.problems.length === 0 ? 'pass' : 'FAIL', c.figure]),
  );
  const outages = table(
    [
      'killed (kill -9)',
      'down for',
      'ready after its start (of which booting Node)',
      'consumers back after start',
      'placeOrder p99 meanwhile',
    ],
    kills.map((k) => {
      const during = attempts.filter((a) => a.startedAt >= k.killedAt && a.startedAt <= (k.readyAt ?? k.killedAt));
      return [
        k.target,
        seconds(k.downMs),
        seconds(k.readyAt && k.restartedAt ? k.readyAt - k.restartedAt : undefined) +
          (k.bootedAt && k.restartedAt ? ` (${seconds(k.bootedAt - k.restartedAt)})` : ''),
        k.consumersJoinedAt && k.restartedAt ? seconds(k.consumersJoinedAt - k.restartedAt) : '—',
        during.length
          ? `${millis(
              percentile(
                during.map((a) => a.durationMs),
                99,
              ),
            )} (${during.length} attempts)`
          : '—',
      ];
    }),
  );
  const figures = table(
    ['figure', 'value'],
    [
      ['seed (replay with FAULTS_SEED)', String(settings.seed)],
      ['customers, orders asked for', `${settings.customers}, ${settings.orders}`],
      [
        'orders placed / acknowledged / given up',
        `${shop.orders.length} / ${acknowledged.length} / ${shop.orders.length - acknowledged.length}`,
      ],
      [
        'final statuses',
        [...byStatus]
          .sort()
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
      ],
      [
        'placeOrder attempts, by outcome',
        [...outcomes]
          .sort((a, b) => b[1] - a[1])
          .map(([o, n]) => `${o} ${n}`)
          .join(', '),
      ],
      [
        'placeOrder attempt p50 / p99',
        `${millis(
          percentile(
            attempts.map((a) => a.durationMs),
            50,
          ),
        )} / ${millis(
          percentile(
            attempts.map((a) => a.durationMs),
            99,
          ),
        )}`,
      ],
      [
        'placeOrder until acknowledged p50 / p99 / max',
        `${millis(percentile(ackLatency, 50))} / ${millis(percentile(ackLatency, 99))} / ${millis(Math.max(0, ...ackLatency))}`,
      ],
      [
        'phases: setup / load / settle',
        `${seconds(result.phases.setup)} / ${seconds(result.phases.load)} / ${seconds(result.phases.settle)}`,
      ],
      [
        'exit codes on SIGTERM at the end',
        Object.entries(result.exitCodes)
          .map(([s, c]) => `${s} ${c}`)
          .join(', '),
      ],
      ['unasked exits (restarted by the suite)', result.unaskedExits.length ? result.unaskedExits.join('; ') : 'none'],
    ],
  );
  return `${checks}\n\n${outages}\n\n${figures}\n`;
}

/** Replaces the figures block of docs/reliability.md with this run's. */
export function recordInDocs(result: ScenarioResult, summary: string): void {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC}: the fault-suite markers are missing`);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const cpu = cpus();
  const block = [
    BEGIN,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} at commit \`${commit}\` on ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, load average ${loadavg()[0]!.toFixed(1)} at the end (a machine shared with other work), ` +
      `seed ${result.settings.seed}.`,
    '',
    summary.trim(),
    '',
    END,
  ].join('\n');
  writeFileSync(DOC, doc.slice(0, start) + block + doc.slice(end + END.length));
}
