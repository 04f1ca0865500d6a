import { Client } from 'undici';

/**
 * Active health checks of a subgraph's instances: GET <origin>/readyz (every
 * subgraph serves it; 200 once its database answers) every `intervalMs`, on a
 * connection of its own so a busy fetch pool can neither delay a check nor
 * make a healthy instance look dead. One check per instance at a time; the
 * next starts `intervalMs` after the previous one ended. The first runs one
 * interval after start: until then every instance counts as up and a dead one
 * is caught by the first fetch it refuses (passive ejection).
 */
export interface HealthTarget {
  url: string;
  origin: string;
}

export function startHealthChecks<T extends HealthTarget>(options: {
  targets: readonly T[];
  intervalMs: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  onResult: (target: T, ready: boolean, detail: string) => void;
}): { stop(): Promise<void> } {
  let stopped = false;
  const stopping = new AbortController();
  const probes = options.targets.map((target) => {
    const client = new Client(target.origin, { connectTimeout: options.connectTimeoutMs, pipelining: 1 });
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      if (!stopped) timer = setTimeout(() => void check(), options.intervalMs).unref();
    };
    const check = async () => {
      const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), stopping.signal]);
      let ready = false;
      let detail: string;
      try {
        const response = await client.request({ path: '/readyz', method: 'GET', signal });
        await response.body.dump();
        ready = response.statusCode === 200;
        detail = `GET /readyz answered ${response.statusCode}`;
      } catch (error) {
        detail = signal.aborted
          ? `GET /readyz took longer than ${options.timeoutMs} ms`
          : `GET /readyz failed: ${(error as { code?: string }).code ?? (error as Error).message}`;
      }
      if (!stopped) options.onResult(target, ready, detail);
      schedule();
    };
    schedule();
    return { client, stop: () => clearTimeout(timer) };
  });
  return {
    stop: async () => {
      stopped = true;
      stopping.abort();
      for (const probe of probes) probe.stop();
      await Promise.all(probes.map((probe) => probe.client.destroy()));
    },
  };
}
