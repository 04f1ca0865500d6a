import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { MixData, MixOrder } from './seed.ts';

/**
 * The open `orderStatusChanged` subscriptions of a step: one graphql-ws
 * socket per customer (as each customer's browser would hold one), each
 * watching one of that customer's CONFIRMED orders. The mix's payments pay
 * watched orders first, so every payment of one should reach its socket as
 * a PAID event; the events received, and the time from sending payOrder to
 * the event, are what the report shows.
 */
export interface SubscriptionStats {
  open: number;
  expected: number;
  received: number;
  /** Events that were not the watched order's PAID change (other customers' orders would be here). */
  unexpected: string[];
  latenciesMs: number[];
  /** Sockets or operations the gateway closed or refused. */
  failures: string[];
}

const ESTABLISH_TIMEOUT_MS = 30_000;
const QUERY = `subscription Watch($orderId: ID!, $after: Int) { orderStatusChanged(orderId: $orderId, after: $after) { id status version } }`;

export class OrderWatchers {
  private readonly clients: Client[] = [];
  private readonly paidAt = new Map<string, number>();
  private readonly watchedIds = new Set<string>();
  readonly stats: SubscriptionStats = {
    open: 0,
    expected: 0,
    received: 0,
    unexpected: [],
    latenciesMs: [],
    failures: [],
  };
  /** The orders watched and not paid yet: payments take from here first. */
  readonly watched: MixOrder[] = [];

  /** Opens `count` subscriptions, one customer each, on orders taken from `payable`. */
  static async open(wsUrl: string, data: MixData, payable: MixOrder[], count: number): Promise<OrderWatchers> {
    const watchers = new OrderWatchers();
    const seen = new Set<number>();
    const chosen: MixOrder[] = [];
    for (let i = payable.length - 1; i >= 0 && chosen.length < count; i -= 1) {
      if (seen.has(payable[i]!.customer)) continue;
      seen.add(payable[i]!.customer);
      chosen.push(...payable.splice(i, 1));
    }
    await Promise.all(chosen.map((order) => watchers.watch(wsUrl, data, order)));
    return watchers;
  }

  private async watch(wsUrl: string, data: MixData, order: MixOrder): Promise<void> {
    const customer = data.customers[order.customer]!;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${customer.token}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: (error) => this.stats.failures.push(`socket: ${describe(error)}`),
    });
    this.clients.push(client);
    // Connected (connection_init acknowledged) before the step's clock starts.
    await new Promise<void>((resolve) => {
      const done = client.on('connected', () => (done(), failed(), resolve()));
      const failed = client.on('closed', () => (done(), failed(), resolve()));
    });
    // `after: 1`: the history is replayed from there, so the seeded CONFIRMED change (version 2) arrives at
    // once: proof the subscription is established end to end before the step's clock starts.
    let established: () => void = () => {};
    const ready = new Promise<void>((resolve) => (established = resolve));
    client.subscribe<{ orderStatusChanged: { id: string; status: string; version: number } }>(
      { query: QUERY, variables: { orderId: order.id, after: 1 } },
      {
        next: ({ data: event, errors }) => {
          if (errors?.length) return void this.stats.failures.push(`event error: ${errors[0]!.message}`);
          const change = event?.orderStatusChanged;
          const sentAt = this.paidAt.get(order.id);
          if (change?.id === order.id && change.status === 'CONFIRMED' && change.version === 2) established();
          else if (change?.id === order.id && change.status === 'PAID' && sentAt !== undefined) {
            this.stats.received += 1;
            this.stats.latenciesMs.push(performance.now() - sentAt);
            this.paidAt.delete(order.id);
          } else this.stats.unexpected.push(JSON.stringify(change).slice(0, 200));
        },
        error: (error) => (this.stats.failures.push(`subscription: ${describe(error)}`), established()),
        complete: () => established(),
      },
    );
    const timeout = setTimeout(() => {
      this.stats.failures.push(`subscription on ${order.id}: not established within ${ESTABLISH_TIMEOUT_MS / 1000}s`);
      established();
    }, ESTABLISH_TIMEOUT_MS);
    await ready;
    clearTimeout(timeout);
    this.watched.push(order);
    this.watchedIds.add(order.id);
    this.stats.open += 1;
  }

  /** payOrder of a watched order is being sent now: its event is expected. */
  paying(order: MixOrder, at: number): void {
    if (!this.isWatched(order)) return;
    this.paidAt.set(order.id, at);
    this.stats.expected += 1;
  }

  private isWatched(order: MixOrder): boolean {
    return this.watchedIds.has(order.id);
  }

  /** Waits (up to `graceMs`) for the events still under way, then closes every socket. */
  async close(graceMs: number): Promise<SubscriptionStats> {
    const deadline = Date.now() + graceMs;
    while (this.stats.received < this.stats.expected && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    for (const client of this.clients) void client.dispose();
    return this.stats;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && 'code' in error) {
    const close = error as { code: number; reason?: string };
    return `closed ${close.code}${close.reason ? ` ${close.reason}` : ''}`;
  }
  return JSON.stringify(error);
}
