import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Runs one service as its own process from its compiled entry (what the
 * image runs, `npm run start:prod:<service>`), the way an orchestrator does:
 * restarts it when it exits on its own, and lets the suite kill it with
 * SIGKILL and start it again on the same port.
 */
export type ServiceName = 'gateway' | 'users' | 'products' | 'orders' | 'notifications';

export const ENTRIES: Record<ServiceName, string> = {
  gateway: 'gateway/dist/main.js',
  users: 'subgraphs/users/dist/main.js',
  products: 'subgraphs/products/dist/main.js',
  orders: 'subgraphs/orders/dist/main.js',
  notifications: 'subgraphs/notifications/dist/main.js',
};

export interface StartRecord {
  spawnedAt: number;
  /** Its first line of output: Node has started and loaded the service's code (the rest is the service's own start). */
  firstOutputAt?: number;
  /** First 200 from /readyz. */
  readyAt?: number;
  /** The last of its consumers joined its group (logged by the service). */
  consumersJoinedAt?: number;
  /** The process of this start ended without being asked to (restarted after a second). */
  exitedUnasked?: { code: number | null; signal: NodeJS.Signals | null; at: number };
}

/** Every child still running, killed when this process exits in any way that runs exit handlers (a test deadline's force exit too). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ServiceProcess {
  readonly starts: StartRecord[] = [];
  private child: ChildProcess | undefined;
  private stopping = false;
  private readonly log: WriteStream;
  private expectedConsumers = 0;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly env: Record<string, string>,
    logDir: string,
    private readonly cwd: string,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until /readyz answers 200 (from this process, or from its restart if it exited). */
  async start(readyTimeoutMs = 120_000): Promise<StartRecord> {
    this.stopping = false;
    this.spawn();
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((res) => res.ok)
        .catch(() => false);
      if (ok) {
        const record = this.starts.at(-1)!;
        record.readyAt ??= Date.now();
        return record;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready ${readyTimeoutMs} ms after its start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGKILL: no handler runs, nothing is flushed, sockets are reset by the kernel. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (its ordered shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<number | null> {
    const child = this.child;
    this.stopping = true;
    if (!child || !this.running) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  /** How many consumer groups the service joins, so the suite can tell when the last one did. */
  expectConsumers(count: number): void {
    this.expectedConsumers = count;
  }

  private spawn(): StartRecord {
    const record: StartRecord = { spawnedAt: Date.now() };
    this.starts.push(record);
    this.log.write(`\n===== start ${this.starts.length} at ${new Date(record.spawnedAt).toISOString()} =====\n`);
    const child = spawn(process.execPath, [ENTRIES[this.name]], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    let joined = 0;
    for (const stream of [child.stdout, child.stderr]) {
      stream.pipe(this.log, { end: false });
      createInterface({ input: stream }).on('line', (line) => {
        record.firstOutputAt ??= Date.now();
        if (line.includes('"consumer joined its group"') && ++joined >= this.expectedConsumers)
          record.consumersJoinedAt ??= Date.now();
      });
    }
    child.once('exit', (code, signal) => {
      if (this.stopping || this.child !== child) return;
      record.exitedUnasked = { code, signal, at: Date.now() };
      // As an orchestrator would: start it again (here after a second, not with a growing back-off).
      setTimeout(() => {
        if (!this.stopping && this.child === child) this.spawn();
      }, 1_000);
    });
    return record;
  }

  close(): void {
    this.log.end();
  }
}
