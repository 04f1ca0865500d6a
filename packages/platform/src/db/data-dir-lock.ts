import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One opener per embedded data directory. PGlite is a single-process
 * database: a second PGlite on a directory that is already open reads a copy
 * of it as it was, never sees the other's writes, and whichever closes last
 * overwrites what the other wrote — orders placed on one are "not found" on
 * the other, and some are lost for good. Nothing in PGlite prevents it (it
 * writes no postmaster.pid), so the platform does, like PostgreSQL itself:
 * a lock file holding the opener's pid, plus a set for openers in this process
 * (which share one pid). Instances of one service in one process share the
 * opened database instead (StartDependencies.database).
 */
const LOCK_FILE = 'storefront.pid';
const openHere = new Set<string>();

/** Takes the directory's lock or throws, naming who holds it; the returned function releases it. */
export function lockDataDir(dataDir: string): () => void {
  const dir = realpathSync(dataDir);
  if (openHere.has(dir)) {
    throw new Error(
      `The embedded database in ${dir} is already open in this process; open it once and share it ` +
        '(another instance of a service takes it as StartDependencies.database).',
    );
  }
  const lockFile = join(dir, LOCK_FILE);
  if (!createExclusively(lockFile)) {
    const holder = readHolder(lockFile);
    // Our own pid in the file, yet not open here: left by an earlier process that had the same pid (a container's 1).
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `The embedded database in ${dir} is in use by process ${holder} (a second opener would lose writes): ` +
          'stop that process, or give this one another DATA_DIR, or use PostgreSQL (DATABASE_URL).',
      );
    }
    // Left by a process that is gone (killed, crashed): take it over.
    writeFileSync(lockFile, `${process.pid}\n`);
  }
  openHere.add(dir);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    openHere.delete(dir);
    if (readHolder(lockFile) === process.pid) rmSync(lockFile, { force: true });
  };
}

/** False when the file exists already; creating it is atomic, so of two processes starting together one wins. */
function createExclusively(lockFile: string): boolean {
  try {
    writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readHolder(lockFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
