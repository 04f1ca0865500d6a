/**
 * Runs every test file with Node's own test runner and ends with one totals
 * line, `N passed, N failed, N skipped`, which CI reads.
 *
 *   tsx scripts/run-tests.ts [path-filter...]
 *
 * Nothing may hang the run: every test and hook fails after TEST_TIMEOUT_MS,
 * a file whose setup failed exits even with sockets still open
 * (--test-force-exit), and the whole run is stopped after TEST_DEADLINE_MINUTES.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const ROOTS = ['packages', 'gateway', 'subgraphs', 'test'];
const filters = process.argv.slice(2);

function findTests(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    if (entry === 'node_modules' || entry === 'generated' || entry.startsWith('.')) return [];
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith('.test.ts') ? [relative(process.cwd(), path)] : [];
  });
}

const files = ROOTS.flatMap(findTests)
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  process.stdout.write('No test files found\n0 passed, 1 failed\n');
  process.exit(1);
}

const testTimeoutMs = positiveNumber('TEST_TIMEOUT_MS', 300_000);
const deadlineMinutes = positiveNumber('TEST_DEADLINE_MINUTES', 45);

function positiveNumber(key: string, fallback: number): number {
  const raw = process.env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    process.stdout.write(`${key} must be a positive number, got "${raw}"\n0 passed, 1 failed\n`);
    process.exit(1);
  }
  return value;
}

const totalsDir = mkdtempSync(join(tmpdir(), 'storefront-tests-'));
const totalsFile = join(totalsDir, 'totals');

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-force-exit',
    `--test-timeout=${testTimeoutMs}`,
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '3'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/test-totals-reporter.mjs',
    '--test-reporter-destination=stderr',
    ...files,
  ],
  // Its own process group, so the deadline can stop every test file with it.
  { stdio: ['ignore', 'inherit', 'inherit'], detached: true, env: { ...process.env, TEST_TOTALS_FILE: totalsFile } },
);

function stopTests(signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopTests(signal));

const deadline = setTimeout(() => {
  process.stderr.write(
    `\nThe tests did not finish within ${deadlineMinutes} minutes (TEST_DEADLINE_MINUTES); stopping them.\n`,
  );
  stopTests('SIGKILL');
}, deadlineMinutes * 60_000);
deadline.unref();

child.on('exit', (code) => {
  clearTimeout(deadline);
  process.stdout.write(`\n${readTotals(code)}\n`);
  rmSync(totalsDir, { recursive: true, force: true });
  process.exit(code ?? 1);
});

/** The reporter's last count; a run that was stopped or failed outside any test counts one more failure. */
function readTotals(exitCode: number | null): string {
  let totals: string;
  try {
    totals = readFileSync(totalsFile, 'utf8');
  } catch {
    return '0 passed, 1 failed';
  }
  if (exitCode === 0 || / [1-9]\d* failed/.test(totals)) return totals;
  return totals.replace(/(\d+) failed/, (_, failed: string) => `${Number(failed) + 1} failed`);
}
