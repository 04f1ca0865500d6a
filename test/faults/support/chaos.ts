import type { Backend, Backends } from './backends.ts';
import type { Random } from './random.ts';
import type { ServiceName, ServiceProcess } from './supervisor.ts';

/**
 * The kills: every target once per round, in a seeded order, each at a
 * seeded moment after the previous one has recovered, down for a seeded
 * few seconds, then started again on the same port (and, for Kafka and
 * Redis, the same data dir).
 */
export type Target = ServiceName | Backend;

export const TARGETS: Target[] = ['orders', 'products', 'notifications', 'users', 'gateway', 'kafka', 'redis'];

export interface Kill {
  target: Target;
  killedAt: number;
  restartedAt?: number;
  /** The restarted target answered: /readyz for a service, a client round trip for Kafka and Redis. */
  readyAt?: number;
  /** A restarted service's first output: the process has booted and loaded its code. */
  bootedAt?: number;
  /** A restarted service's consumers all joined their groups again. */
  consumersJoinedAt?: number;
  downMs: number;
}

export interface ChaosOptions {
  random: Random;
  rounds: number;
  processes: Record<ServiceName, ServiceProcess>;
  backends: Backends;
  /** Seeded waits before each kill and downtimes, in ms. */
  gapMs: [number, number];
  downMs: [number, number];
  log: (line: string) => void;
}

export function planKills(random: Random, rounds: number): Target[] {
  return Array.from({ length: rounds }, () => random.shuffle(TARGETS)).flat();
}

export async function runChaos(options: ChaosOptions): Promise<Kill[]> {
  const { random, processes, backends, log } = options;
  const kills: Kill[] = [];
  for (const target of planKills(random, options.rounds)) {
    await sleep(random.between(...options.gapMs));
    const downMs = Math.round(random.between(...options.downMs));
    const kill: Kill = { target, killedAt: Date.now(), downMs };
    kills.push(kill);
    if (target === 'kafka' || target === 'redis') {
      await backends.kill(target);
      log(`kill -9 ${target}; back in ${downMs} ms`);
      await sleep(downMs);
      kill.restartedAt = Date.now();
      await backends.restart(target);
      kill.readyAt = Date.now();
    } else {
      const service = processes[target];
      await service.kill();
      log(`kill -9 ${target}; back in ${downMs} ms`);
      await sleep(downMs);
      const start = await service.start();
      kill.restartedAt = start.spawnedAt;
      kill.readyAt = start.readyAt;
      kill.bootedAt = start.firstOutputAt;
      // Read when the report is made: the consumers join after the service is ready.
      Object.defineProperty(kill, 'consumersJoinedAt', { get: () => start.consumersJoinedAt, enumerable: true });
    }
    log(`${target} ready ${((kill.readyAt! - kill.restartedAt) / 1000).toFixed(1)} s after its start`);
  }
  return kills;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
