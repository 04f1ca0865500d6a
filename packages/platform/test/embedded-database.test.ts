import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, type Database } from '../src/db/database.ts';

/**
 * PGlite is a single-process database. A second PGlite on a data directory
 * that is already open reads a copy of it, never sees the first one's writes,
 * and on close overwrites what the first one wrote: an order placed on one
 * instance is "not found" on the other, and some writes are lost for good.
 * So a data directory has one opener at a time, in this process or another.
 */
describe('the embedded database opens a data directory once', { timeout: 300_000 }, () => {
  const opened: Database[] = [];
  const open = async (dataDir: string) => {
    const database = await openDatabase({ dataDir, schema: 'test' });
    opened.push(database);
    return database;
  };
  const exec = (database: Database, sql: string) => database.migrate(migrations(sql));
  after(async () => {
    for (const database of opened) await database.close().catch(() => {});
  });

  it('refuses a second opener in this process, and opens again once the first has closed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pglite-lock-'));
    const first = await open(dataDir);
    await assert.rejects(open(dataDir), /already open in this process/);
    const migrated = await exec(first, 'CREATE TABLE kept (x int);');
    assert.equal(migrated.applied.length, 1, 'the first opener is unharmed');

    await first.close();
    const again = await open(dataDir);
    await again.close();
  });

  it('refuses an opener in another process while this one holds it, naming this process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pglite-lock-'));
    await open(dataDir);
    const other = await openInChild(dataDir);
    assert.notEqual(other.code, 0, other.output);
    assert.match(other.output, new RegExp(`in use by process ${process.pid}`));
  });

  it('takes over the lock of a process that died without releasing it (kill -9)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pglite-lock-'));
    const dead = await openInChild(dataDir, 'process.kill(process.pid, "SIGKILL");');
    assert.equal(dead.signal, 'SIGKILL', dead.output);
    const database = await open(dataDir);
    await database.close();
  });
});

/** A migrations directory of one migration: the port's way to run SQL. */
function migrations(sql: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pglite-lock-migrations-'));
  const one = join(dir, '20260101000000_one');
  mkdirSync(one);
  writeFileSync(join(one, 'migration.sql'), sql);
  return dir;
}

/** Opens `dataDir` in a child process, then runs `then` there (by default: exit 0). */
function openInChild(
  dataDir: string,
  then = 'process.exit(0);',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const script = `
    import { openDatabase } from ${JSON.stringify(new URL('../src/db/database.ts', import.meta.url).href)};
    await openDatabase({ dataDir: ${JSON.stringify(dataDir)}, schema: 'test' });
    ${then}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output })));
}
