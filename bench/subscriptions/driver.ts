import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Ledger } from './ledger.ts';
import { now } from './protocol.ts';

/**
 * What moves the orders: at a steady rate, the next status change of a
 * watched order, through our gateway's HTTP endpoint as the shop's apps and
 * back office send them — payOrder by the order's customer (their token),
 * shipOrder and deliverOrder by staff (the seeded admin's token). An order
 * that moved waits STEP_GAP_MS before its next change (packing, shipping),
 * and orders already under way go before fresh ones, so orders run their
 * whole course (CONFIRMED → PAID → SHIPPED → DELIVERED) and the apps then
 * watch the next one. A change is due at start + i/rate whatever the gateway
 * answers (an open model).
 */
const STEP_GAP_MS = 1000;
const REQUEST_TIMEOUT_MS = 10_000;

const MUTATIONS: Record<number, { field: string; staff: boolean }> = {
  2: { field: 'payOrder', staff: false },
  3: { field: 'shipOrder', staff: true },
  4: { field: 'deliverOrder', staff: true },
};
const bodyOf = (field: string, id: string) =>
  JSON.stringify({ query: `mutation Move($id: ID!) { ${field}(id: $id) { id status version } }`, variables: { id } });

export interface DriverStats {
  sent: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  /** Changes that were due when no watched order could move (the apps had none left): the rate fell short by these. */
  starved: number;
  /** How late the driver sent its changes (p99 ms): large values mean the bench, not the gateway, fell behind. */
  mutationP50Ms: number;
  mutationP99Ms: number;
}

export class OrderDriver {
  private readonly fresh: string[] = [];
  private readonly underWay: { order: string; version: number; dueAt: number }[] = [];
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    url: string,
    private readonly ledger: Ledger,
    private readonly tokens: { staff: string; ownerOf: (order: string) => string },
    connections: number,
  ) {
    const origin = new URL(url);
    this.path = origin.pathname;
    this.pool = new Pool(origin.origin, {
      connections,
      keepAliveTimeout: 30_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  /** An app watches this CONFIRMED order now: it may be moved. Taken in random order, so customers are spread. */
  watched(order: string): void {
    this.fresh.splice(Math.floor(Math.random() * (this.fresh.length + 1)), 0, order);
  }

  /** Runs `rate` changes a second for `seconds`. */
  async run(rate: number, seconds: number): Promise<DriverStats> {
    const stats: DriverStats = {
      sent: 0,
      ok: 0,
      errors: 0,
      errorSamples: [],
      starved: 0,
      mutationP50Ms: NaN,
      mutationP99Ms: NaN,
    };
    const latencies: number[] = [];
    const total = Math.max(1, Math.round(rate * seconds));
    const interval = 1000 / rate;
    const inFlight = new Set<Promise<void>>();
    const start = performance.now() + 5;
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        for (; i < total && start + i * interval <= performance.now(); i += 1) {
          const next = this.take();
          if (!next) {
            stats.starved++;
            continue;
          }
          const p = this.move(next.order, next.version, stats, latencies);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        }
        if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
        else resolve();
      };
      setTimeout(tick, 5);
    });
    await Promise.all(inFlight);
    const sorted = latencies.sort((a, b) => a - b);
    stats.mutationP50Ms = sorted[Math.ceil(sorted.length * 0.5) - 1] ?? NaN;
    stats.mutationP99Ms = sorted[Math.ceil(sorted.length * 0.99) - 1] ?? NaN;
    return stats;
  }

  private take(): { order: string; version: number } | undefined {
    const head = this.underWay[0];
    if (head && head.dueAt <= performance.now()) return this.underWay.shift();
    const order = this.fresh.pop();
    return order ? { order, version: 2 } : this.underWay.shift();
  }

  private async move(order: string, version: number, stats: DriverStats, latencies: number[]): Promise<void> {
    const { field, staff } = MUTATIONS[version]!;
    const token = staff ? this.tokens.staff : this.tokens.ownerOf(order);
    stats.sent++;
    const sentAt = now();
    this.ledger.sent(order, version + 1, sentAt);
    let problem: string | undefined;
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: bodyOf(field, order),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.body.text();
      const answer = (JSON.parse(text) as { data?: Record<string, { id: string; version: number } | null> }).data?.[
        field
      ];
      if (res.statusCode !== 200 || answer?.id !== order || answer.version !== version + 1)
        problem = `${field}: HTTP ${res.statusCode} ${text.slice(0, 200)}`;
    } catch (error) {
      problem = `${field}: ${(error as Error).message}`;
    }
    const answeredAt = now();
    if (problem) {
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(problem);
      this.ledger.failed(order, version + 1);
      return;
    }
    stats.ok++;
    latencies.push(answeredAt - sentAt);
    this.ledger.answered(order, version + 1, answeredAt);
    if (version + 1 < 5) this.underWay.push({ order, version: version + 1, dueAt: performance.now() + STEP_GAP_MS });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
