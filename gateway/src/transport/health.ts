import { Client } from 'undici';

/**
 * Active health checks of a subgraph's instances: GET <origin>/readyz (every
 * subgraph serves it; 200 once its database answers) every `intervalMs`, on a
 * connection of its own so a busy fetch pool can neither delay a check nor
 * make a healthy instance look dead. One check per instance at a time; the
 * next starts `intervalMs` after the previous one ended. The first runs one
 * interval after start: until then every instance counts as up and a dead one
 * is caught by the first fetch it refuses (passive ejection).
 *
 * One slow or failed check says little on a busy machine, so, as Envoy does,
 * an instance that is up is taken out only after `unhealthyThreshold` checks
 * in a row time out, fail to connect or answer other than 200 — except a 503,
 * the instance's own "not ready" (draining, database down), which takes it
 * out at once. An instance that is out (by the checks, or ejected by a
 * fetch) comes back after `healthyThreshold` checks in a row answer 200.
 */
export interface HealthTarget {
  url: string;
  origin: string;
}

export interface HealthCheckOptions<T extends HealthTarget> {
  targets: readonly T[];
  intervalMs: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Failed checks in a row that take an instance out (a 503 does at once). */
  unhealthyThreshold: number;
  /** Passed checks in a row that bring an instance that is out back. */
  healthyThreshold: number;
  /** Whether the instance is in rotation now (it may have been ejected by a fetch meanwhile). */
  isUp: (target: T) => boolean;
  /** The checks call for a change: out (`ready` false) or back. */
  onResult: (target: T, ready: boolean, detail: string) => void;
}

export function startHealthChecks<T extends HealthTarget>(options: HealthCheckOptions<T>): { stop(): Promise<void> } {
  let stopped = false;
  const stopping = new AbortController();
  const probes = options.targets.map((target) => {
    const client = new Client(target.origin, { connectTimeout: options.connectTimeoutMs, pipelining: 1 });
    const streak = new HealthStreak(options);
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      if (!stopped) timer = setTimeout(() => void check(), options.intervalMs).unref();
    };
    const check = async () => {
      const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), stopping.signal]);
      let status: number | undefined;
      let detail: string;
      try {
        const response = await client.request({ path: '/readyz', method: 'GET', signal });
        await response.body.dump();
        status = response.statusCode;
        detail = `GET /readyz answered ${status}`;
      } catch (error) {
        detail = signal.aborted
          ? `GET /readyz took longer than ${options.timeoutMs} ms`
          : `GET /readyz failed: ${(error as { code?: string }).code ?? (error as Error).message}`;
      }
      if (!stopped) {
        const verdict = streak.record(status, options.isUp(target));
        if (verdict !== undefined) options.onResult(target, verdict, streak.describe(verdict, detail));
      }
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

/** One instance's run of check results, and the change it calls for. */
class HealthStreak {
  private failures = 0;
  private passes = 0;

  constructor(private readonly thresholds: { unhealthyThreshold: number; healthyThreshold: number }) {}

  /**
   * `status` is the answer's (undefined: none came); `up` whether the instance
   * is in rotation now. Returns false to take it out, true to bring it back,
   * undefined to leave it as it is.
   */
  record(status: number | undefined, up: boolean): boolean | undefined {
    if (status === 200) {
      this.failures = 0;
      // Counted only while out: passes from before a fetch ejected it do not bring it back.
      this.passes = up ? 0 : this.passes + 1;
      return !up && this.passes >= this.thresholds.healthyThreshold ? true : undefined;
    }
    this.passes = 0;
    this.failures = up ? this.failures + 1 : 0;
    if (!up) return undefined;
    return status === 503 || this.failures >= this.thresholds.unhealthyThreshold ? false : undefined;
  }

  describe(ready: boolean, detail: string): string {
    const count = ready ? this.thresholds.healthyThreshold : this.failures;
    return count > 1 ? `${detail} (${count} checks in a row)` : detail;
  }
}
