/**
 * Runs every test file with Node's own test runner and ends with one totals
 * line, `N passed, N failed, N skipped`, which CI reads.
 *
 *   tsx scripts/run-tests.ts [path-filter...]
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '3'}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/test-totals-reporter.mjs',
    '--test-reporter-destination=stderr',
    ...files,
  ],
  { stdio: ['ignore', 'inherit', 'pipe'] },
);

let totals = '';
child.stderr.on('data', (chunk: Buffer) => {
  const text = chunk.toString();
  const match = /__TOTALS__ (.*)/.exec(text);
  if (match) totals = match[1]!;
  const rest = text.replace(/__TOTALS__ .*\n?/, '');
  if (rest) process.stderr.write(rest);
});
child.on('exit', (code) => {
  process.stdout.write(`\n${totals || `0 passed, 1 failed`}\n`);
  process.exit(code ?? 1);
});
