/**
 * Runs every test file with Node's own test runner and ends with one totals
 * line, `N passed, N failed, N skipped`, which CI reads.
 *
 *   tsx scripts/run-tests.ts [path-filter...]
 *
 * Nothing may hang the run: every test and hook fails after TEST_TIMEOUT_MS,
 * a file whose setup failed exits even with sockets still open
 * (--test-force-exit), and the whole run is stopped after TEST_DEADLINE_MINUTES.
 *
 * Files under test/faults/ (the fault suite, which kills processes and loads
 * the machine) run after all the others, one at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

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

const testTimeoutMs = positiveNumber('TEST_TIMEOUT_MS', 600_000);
// The fault suite is one file that checks out for minutes, then waits for every saga and email to settle.
const faultsTimeoutMs = positiveNumber('TEST_FAULTS_TIMEOUT_MS', 1_200_000);
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
const ALONE = `test${sep}faults${sep}`;
const phases = [
  {
    files: files.filter((file) => !file.startsWith(ALONE)),
    concurrency: process.env.TEST_CONCURRENCY ?? '3',
    timeoutMs: testTimeoutMs,
  },
  { files: files.filter((file) => file.startsWith(ALONE)), concurrency: '1', timeoutMs: faultsTimeoutMs },
].filter((phase) => phase.files.length > 0);

let current: ChildProcess | undefined;
let stopped = false;
function stopTests(signal: NodeJS.Signals): void {
  if (!current) return;
  try {
    process.kill(-current.pid!, signal);
  } catch {
    current.kill(signal);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    stopTests(signal);
    process.exit(1);
  });

const deadline = setTimeout(() => {
  process.stderr.write(
    `\nThe tests did not finish within ${deadlineMinutes} minutes (TEST_DEADLINE_MINUTES); stopping them.\n`,
  );
  stopped = true;
  stopTests('SIGKILL');
}, deadlineMinutes * 60_000);
deadline.unref();

const totals = { passed: 0, failed: 0, skipped: 0 };
let failedRun = false;
for (const [index, phase] of phases.entries()) {
  if (stopped) break;
  const totalsFile = join(totalsDir, `totals-${index}`);
  const code = await runPhase(phase.files, phase.concurrency, phase.timeoutMs, totalsFile);
  const counted = readTotals(totalsFile, code);
  totals.passed += counted.passed;
  totals.failed += counted.failed;
  totals.skipped += counted.skipped;
  if (code !== 0) failedRun = true;
}
clearTimeout(deadline);
rmSync(totalsDir, { recursive: true, force: true });
process.stdout.write(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`,
);
process.exit(failedRun || stopped ? 1 : 0);

function runPhase(
  phaseFiles: string[],
  concurrency: string,
  timeoutMs: number,
  totalsFile: string,
): Promise<number | null> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-force-exit',
      `--test-timeout=${timeoutMs}`,
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=./scripts/test-totals-reporter.mjs',
      '--test-reporter-destination=stderr',
      ...phaseFiles,
    ],
    // Its own process group, so the deadline can stop every test file with it.
    { stdio: ['ignore', 'inherit', 'inherit'], detached: true, env: { ...process.env, TEST_TOTALS_FILE: totalsFile } },
  );
  current = child;
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** The reporter's last count; a run that was stopped or failed outside any test counts one more failure. */
function readTotals(totalsFile: string, exitCode: number | null): { passed: number; failed: number; skipped: number } {
  let text: string;
  try {
    text = readFileSync(totalsFile, 'utf8');
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(text)?.[1] ?? 0);
  const counted = { passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
  if (exitCode !== 0 && counted.failed === 0) counted.failed = 1;
  return counted;
}
