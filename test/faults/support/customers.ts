import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { GatewayClient, GiveUp, type AttemptRecord } from './client.ts';
import type { Random } from './random.ts';

/**
 * Shoppers: each signs up, then places orders with an idempotency key per
 * order (retrying with the same key until an answer comes, as a checkout page
 * would), and afterwards pays, cancels, or leaves each one, as chosen by the
 * seeded generator. Some orders are watched with `orderStatusChanged`, the way
 * an order page follows its status: after a dropped socket or an interrupted
 * subscription the watcher subscribes again with `after: <last version>`.
 */
export type Fate = 'pay' | 'pay-then-cancel' | 'cancel' | 'cancel-at-once' | 'leave';

export interface OrderRecord {
  key: string;
  customer: number;
  items: { productId: string; quantity: number }[];
  fate: Fate;
  firstAttemptAt: number;
  /** When placeOrder answered with the order, and its id. */
  acknowledgedAt?: number;
  orderId?: string;
  /** Why placing it was given up (no acknowledgement within the deadline). */
  gaveUp?: string;
  /** What the follow-up (pay/cancel) ended with. */
  followUp?: string;
  watch?: WatchRecord;
}

export interface WatchRecord {
  orderId: string;
  /** Versions pushed, in arrival order. */
  versions: number[];
  statuses: string[];
  resubscriptions: number;
  /** The watcher saw a final status (the server ends the subscription there). */
  finished: boolean;
  problems: string[];
}

const FINAL = new Set(['DELIVERED', 'CANCELLED', 'REJECTED']);

export interface ShopOptions {
  gatewayUrl: string;
  products: { id: string }[];
  /** Orders to place in all (at least); `placedEnough()` says when. */
  target: number;
  /** Mean time between two orders of one customer. */
  paceMs: number;
  /** The share of orders that get a watcher. */
  watchShare: number;
  /** Retry deadline of each call. */
  callDeadlineMs: number;
}

export class Shop {
  readonly orders: OrderRecord[] = [];
  readonly clients: GatewayClient[] = [];
  private readonly followUps = new Set<Promise<void>>();
  private readonly sockets: Client[] = [];
  private readonly watchers = new Set<() => void>();
  private reserved = 0;

  constructor(private readonly options: ShopOptions) {}

  attempts(operation?: string): AttemptRecord[] {
    return this.clients.flatMap((c) => c.attempts).filter((a) => !operation || a.operation === operation);
  }

  /** One customer's whole visit: sign up, then orders until the shop has enough and `keepGoing` says stop. */
  async customer(index: number, random: Random, keepGoing: () => boolean): Promise<void> {
    const address = `10.${Math.floor(index / 250)}.${index % 250}.${(index * 7) % 250}`;
    const client = new GatewayClient(this.options.gatewayUrl, address, () => random.between(0, 1));
    this.clients.push(client);
    const deadline = () => Date.now() + this.options.callDeadlineMs;
    const email = `shopper-${random.seed}-${index}@example.com`;
    const password = 'a-good-password-1';

    const logIn = async (): Promise<string> => {
      const answer = await client.call<{ logIn: { accessToken: string } }>(
        'logIn',
        `mutation($e: String!, $p: String!) { logIn(email: $e, password: $p) { accessToken } }`,
        { e: email, p: password },
        { until: deadline() },
      );
      return answer.data!.logIn.accessToken;
    };
    // Sign-up is not idempotent: when an earlier attempt went through unanswered, the retry finds the
    // address taken, and the customer logs in instead, as an app would.
    const signedUp = await client.call<{ signUp: { accessToken: string } }>(
      'signUp',
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`,
      { input: { email, password, name: `Shopper ${index}` } },
      { until: deadline(), acceptCodes: ['BAD_USER_INPUT', 'CONFLICT'] },
    );
    let token = signedUp.data?.signUp.accessToken ?? (await logIn());
    const session = {
      token: () => token,
      reauthenticate: async () => (token = await logIn()),
    };

    const socket = createClient({
      url: this.options.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: class extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: { 'x-forwarded-for': address } });
        }
      },
      connectionParams: () => ({ authorization: `Bearer ${token}` }),
      lazy: true,
      lazyCloseTimeout: 2_000,
      // This watcher resubscribes itself, with `after`, which graphql-ws's own retry would not update.
      retryAttempts: 0,
    });
    this.sockets.push(socket);

    for (let n = 1; keepGoing() || this.reserved < this.options.target; n++) {
      await new Promise((resolve) => setTimeout(resolve, random.between(0.5, 1.5) * this.options.paceMs));
      this.reserved++;
      const record = this.newOrder(index, n, random);
      try {
        const answer = await client.call<{ placeOrder: { id: string } }>(
          'placeOrder',
          `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id status } }`,
          { input: { items: record.items }, key: record.key },
          { token: session.token(), reauthenticate: session.reauthenticate, until: deadline() },
        );
        record.orderId = answer.data!.placeOrder.id;
        record.acknowledgedAt = Date.now();
      } catch (error) {
        record.gaveUp = (error as Error).message;
        continue;
      }
      if (random.chance(this.options.watchShare)) record.watch = this.watch(socket, record.orderId, random);
      this.track(this.followUp(client, session, record, deadline));
    }
  }

  /** Waits for every follow-up (pay, cancel) to end. */
  async settled(): Promise<void> {
    while (this.followUps.size > 0) await Promise.allSettled([...this.followUps]);
  }

  /** Stops the watchers (those of orders that never reach a final status stay open until now) and closes the sockets. */
  async closeWatchers(): Promise<void> {
    for (const stop of this.watchers) stop();
    await Promise.all(this.sockets.map(async (s) => s.dispose()));
  }

  private newOrder(customer: number, n: number, random: Random): OrderRecord {
    const lines = random.int(1, 3);
    const products = random.shuffle(this.options.products).slice(0, lines);
    const roll = random.between(0, 1);
    const fate: Fate =
      roll < 0.45
        ? 'pay'
        : roll < 0.55
          ? 'pay-then-cancel'
          : roll < 0.7
            ? 'cancel'
            : roll < 0.8
              ? 'cancel-at-once'
              : 'leave';
    const record: OrderRecord = {
      key: `checkout-${customer}-${n}`,
      customer,
      items: products.map((p) => ({ productId: p.id, quantity: random.int(1, 3) })),
      fate,
      firstAttemptAt: Date.now(),
    };
    this.orders.push(record);
    return record;
  }

  private track(work: Promise<void>): void {
    this.followUps.add(work);
    void work.finally(() => this.followUps.delete(work));
  }

  private async followUp(
    client: GatewayClient,
    session: { token: () => string; reauthenticate: () => Promise<string> },
    record: OrderRecord,
    deadline: () => number,
  ): Promise<void> {
    const id = record.orderId!;
    const call = <T>(operation: string, query: string, acceptCodes: string[] = []) =>
      client.call<T>(
        operation,
        query,
        { id },
        {
          token: session.token(),
          reauthenticate: session.reauthenticate,
          until: deadline(),
          acceptCodes,
        },
      );
    const status = async () =>
      (await call<{ order: { status: string } }>('order', `query($id: ID!) { order(id: $id) { status } }`)).data!.order
        .status;
    // A transition whose earlier attempt went through unanswered answers CONFLICT: the status says whether it did.
    const move = async (operation: 'payOrder' | 'cancelOrder', done: string) => {
      const answer = await call<Record<string, { status: string }>>(
        operation,
        `mutation($id: ID!) { ${operation}(id: $id) { status } }`,
        ['CONFLICT'],
      );
      const moved = answer.data?.[operation]?.status;
      if (moved) return moved;
      const now = await status();
      return now === done ? done : `refused (${now})`;
    };
    try {
      if (record.fate === 'leave') return void (record.followUp = 'left');
      if (record.fate === 'cancel-at-once') return void (record.followUp = await move('cancelOrder', 'CANCELLED'));
      let current = await status();
      const waitUntil = Date.now() + 180_000;
      while (current === 'PENDING' && Date.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        current = await status();
      }
      if (current !== 'CONFIRMED') return void (record.followUp = `found ${current}`);
      if (record.fate === 'cancel') return void (record.followUp = await move('cancelOrder', 'CANCELLED'));
      const paid = await move('payOrder', 'PAID');
      record.followUp = paid;
      if (record.fate === 'pay-then-cancel' && paid === 'PAID')
        record.followUp = `PAID, ${await move('cancelOrder', 'CANCELLED')}`;
    } catch (error) {
      record.followUp = error instanceof GiveUp ? error.message : `failed: ${(error as Error).message}`;
    }
  }

  private watch(socket: Client, orderId: string, random: Random): WatchRecord {
    const record: WatchRecord = {
      orderId,
      versions: [],
      statuses: [],
      resubscriptions: 0,
      finished: false,
      problems: [],
    };
    let stopped = false;
    let unsubscribe: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      unsubscribe?.();
    };
    this.watchers.add(stop);
    const subscribe = () => {
      if (stopped || record.finished) return;
      const after = record.versions.at(-1) ?? 1;
      let ended = false;
      const again = (why: string) => {
        if (ended) return;
        ended = true;
        if (stopped || record.finished) return;
        record.resubscriptions++;
        if (record.problems.length < 5 && !/closed|connect|INTERRUPTED|UNAVAILABLE|1006|1012/.test(why))
          record.problems.push(why);
        setTimeout(subscribe, random.between(200, 1_500));
      };
      unsubscribe = socket.subscribe<{ orderStatusChanged: { status: string; version: number } }>(
        {
          query: `subscription($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, after: $after) { status version } }`,
          variables: { id: orderId, after },
        },
        {
          next: (result) => {
            const change = result.data?.orderStatusChanged;
            if (!change) return again(`error: ${JSON.stringify(result.errors)}`);
            record.versions.push(change.version);
            record.statuses.push(change.status);
            if (FINAL.has(change.status)) record.finished = true;
          },
          error: (error) => again(describe(error)),
          complete: () => again('completed before a final status'),
        },
      );
    };
    subscribe();
    return record;
  }
}

function describe(error: unknown): string {
  if (Array.isArray(error))
    return error
      .map((e: { message?: string; extensions?: { code?: string } }) => e.extensions?.code ?? e.message)
      .join(', ');
  if (error instanceof Error) return `connect: ${error.message}`;
  if (error && typeof error === 'object') {
    const { code, type, message, reason } = error as Record<string, unknown>;
    if (code !== undefined) return `socket closed (${String(code)}${reason ? `: ${String(reason)}` : ''})`;
    return `${String(type ?? 'error')}: ${String(message ?? JSON.stringify(error))}`;
  }
  return String(error);
}
