import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { treeCpuMs, treeRssKb } from '../measure.ts';
import type { AnswerChecker } from './check.ts';
import type { MixRequest, OperationKind, PaymentPool } from './operations.ts';
import type { MixData } from './seed.ts';
import type { OrderWatchers, SubscriptionStats } from './subscriptions.ts';

/**
 * One step of the mix: requests sent at a constant arrival rate for a fixed
 * time (an open model), whatever the gateway answers. Request i is due at
 * start + i/rate; its latency is measured from that due time, not from when a
 * connection was free to send it, so a gateway that falls behind shows it in
 * its latency instead of quietly lowering the load (no coordinated omission).
 */
export interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  errors: number;
  /** The first few errors, for the report. */
  errorSamples: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers per second over the step. */
  throughput: number;
  /** How late the generator itself sent requests (p99): large values mean the load generator, not the gateway, fell behind. */
  sendLagP99Ms: number;
  byKind: Partial<Record<OperationKind, { count: number; p50Ms: number; p99Ms: number }>>;
  gatewayCpuMsPerRequest: number;
  subgraphsCpuMsPerRequest: number;
  /** The same, less what the processes burn when idle (Kafka consumers, relays, timers) over the step's time. */
  gatewayCpuNetMsPerRequest: number;
  subgraphsCpuNetMsPerRequest: number;
  loadGeneratorCpuMsPerRequest: number;
  gatewayRssMb: number;
  skippedPayments: number;
  subscriptions?: Omit<SubscriptionStats, 'latenciesMs'> & { p50Ms: number; p99Ms: number };
  sustained: boolean;
}

export interface StepSpec {
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  p99LimitMs: number;
  next: (payments: PaymentPool) => MixRequest;
  skippedPayments: () => number;
  payments: PaymentPool;
  checker: AnswerChecker;
  data: MixData;
  watchers?: OrderWatchers;
  pids: { gateway: number; subgraphs: number[] };
  /** CPU ms per second the gateway and the subgraphs use without load (measured before the rounds). */
  idle: { gatewayMsPerSecond: number; subgraphsMsPerSecond: number };
}

/** A wrong answer ends the run: its message says which customer saw what. */
export class WrongAnswerError extends Error {}

const REQUEST_TIMEOUT_MS = 10_000;

export function percentile(values: number[] | Float64Array, p: number): number {
  if (!values.length) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runStep(spec: StepSpec): Promise<StepResult> {
  const origin = new URL(spec.url);
  const pool = new Pool(origin.origin, {
    connections: spec.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const interval = 1000 / spec.rate;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const kinds = new Array<OperationKind>(total);
  let ok = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let wrong: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const skippedBefore = spec.skippedPayments();

  const send = async (i: number, due: number): Promise<void> => {
    const request = spec.next(spec.payments);
    kinds[i] = request.kind;
    const customer = spec.data.customers[request.customer]!;
    if (request.paid) spec.watchers?.paying(request.paid, due);
    let status = 0;
    let text = '';
    try {
      const res = await pool.request({
        path: origin.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${customer.token}`,
          // Read only by the peers, which sign their subgraph calls as this customer (bench/peers/sign.mjs).
          'x-bench-customer-id': customer.id,
        },
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (error) {
      text = (error as Error).message;
    }
    latencies[i] = performance.now() - due;
    const verdict = spec.checker.check(request, status, text);
    if (verdict.kind === 'ok') {
      ok += 1;
      if (request.kind === 'placeOrder') remember(spec.data, request, text);
    } else if (verdict.kind === 'error') {
      errors += 1;
      if (errorSamples.length < 5) errorSamples.push(`${request.kind}: ${verdict.why}`);
    } else wrong ??= `${request.kind}: ${verdict.why}`;
  };

  const cpuBefore = {
    gateway: treeCpuMs(spec.pids.gateway),
    subgraphs: spec.pids.subgraphs.reduce((sum, pid) => sum + treeCpuMs(pid), 0),
    load: process.cpuUsage(),
  };
  const start = performance.now() + 5;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (; i < total && start + i * interval <= now; i += 1) {
        const due = start + i * interval;
        lags[i] = now - due;
        const p = send(i, due);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      // Sleeps until the next request is due; a timer that fires late shows as send lag, and counts in latency.
      if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, 5);
  });
  await Promise.all(inFlight);
  const elapsedSeconds = (performance.now() - start) / 1000;
  const load = process.cpuUsage(cpuBefore.load);
  const gatewayCpu = treeCpuMs(spec.pids.gateway) - cpuBefore.gateway;
  const subgraphsCpu = spec.pids.subgraphs.reduce((sum, pid) => sum + treeCpuMs(pid), 0) - cpuBefore.subgraphs;
  await pool.close();
  if (wrong) throw new WrongAnswerError(`a wrong answer at ${spec.rate}/s on ${spec.url}: ${wrong}`);

  const byKind: StepResult['byKind'] = {};
  const grouped = new Map<OperationKind, number[]>();
  kinds.forEach((kind, n) => {
    const list = grouped.get(kind) ?? [];
    list.push(latencies[n]!);
    grouped.set(kind, list);
  });
  for (const [kind, values] of grouped)
    byKind[kind] = { count: values.length, p50Ms: percentile(values, 50), p99Ms: percentile(values, 99) };
  const p99Ms = percentile(latencies, 99);
  return {
    rate: spec.rate,
    seconds: spec.seconds,
    sent: total,
    ok,
    errors,
    errorSamples,
    p50Ms: percentile(latencies, 50),
    p99Ms,
    maxMs: percentile(latencies, 100),
    throughput: ok / elapsedSeconds,
    sendLagP99Ms: percentile(lags, 99),
    byKind,
    gatewayCpuMsPerRequest: gatewayCpu / total,
    subgraphsCpuMsPerRequest: subgraphsCpu / total,
    gatewayCpuNetMsPerRequest: Math.max(0, gatewayCpu - spec.idle.gatewayMsPerSecond * elapsedSeconds) / total,
    subgraphsCpuNetMsPerRequest: Math.max(0, subgraphsCpu - spec.idle.subgraphsMsPerSecond * elapsedSeconds) / total,
    loadGeneratorCpuMsPerRequest: (load.user + load.system) / 1000 / total,
    gatewayRssMb: treeRssKb(spec.pids.gateway) / 1024,
    skippedPayments: spec.skippedPayments() - skippedBefore,
    sustained: errors === 0 && p99Ms <= spec.p99LimitMs,
  };
}

/** A placed order joins its customer's history, so later answers that show it are checked like the seeded ones. */
function remember(data: MixData, request: MixRequest, text: string): void {
  const id = (JSON.parse(text) as { data: { placeOrder: { id: string } } }).data.placeOrder.id;
  const order = { id, customer: request.customer, items: request.placed! };
  data.orders.set(id, order);
  data.ordersOf[request.customer]!.unshift(id);
  data.placed.push(order);
}
