import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The processes the bench starts (subgraphs, gateways, scripts): each logs to
 * its own file in the state dir, and every one still running is stopped when
 * the bench ends, fails or is interrupted.
 */
export interface Managed {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Managed>();

/** Only what a Node process needs from the caller's environment; everything else is set explicitly. */
export function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG'];
  return Object.fromEntries(keep.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])));
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; logDir: string; cwd?: string },
): Managed {
  const logFile = join(options.logDir, `${name}.log`);
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const managed: Managed = {
    name,
    pid: child.pid,
    logFile,
    child,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(managed);
    },
  };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  return managed;
}

/** Runs a command to its end; rejects with the tail of its log when it fails. */
export async function runToEnd(
  name: string,
  command: string,
  args: string[],
  options: { env: Record<string, string>; logDir: string; cwd?: string },
): Promise<void> {
  const managed = startProcess(name, command, args, options);
  const code = await new Promise<number | null>((resolve) => managed.child.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${tail(managed.logFile)}`);
}

export const isAlive = (managed: Managed): boolean =>
  managed.child.exitCode === null && managed.child.signalCode === null;

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `probe` until it says yes; fails early, with its log, when the process dies. */
export async function waitUntil(
  managed: Managed,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(managed))
      throw new Error(`${managed.name} exited while waiting for ${what}:\n${tail(managed.logFile)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${managed.name}: no ${what} after ${timeoutMs / 1000}s:\n${tail(managed.logFile)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((m) => m.stop()));
}
