/**
 * The client process of `npm run bench -- --subscriptions`: the apps. Each
 * socket is one customer's app (graphql-ws over `ws`, the token in
 * `connectionParams`), watching a few of that customer's orders with
 * `orderStatusChanged(orderId, after: 2)`; when an order ends (DELIVERED, the
 * subscription completes) the app watches the next one, as an app does when
 * the customer opens another order. It runs in its own process so its CPU is
 * not counted in the bench's, and it only receives: every event goes back to
 * the bench, stamped with the time it arrived, in batches.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { now, type ClientSocketPlan, type FromClients, type ReceivedEvent, type ToClients } from './protocol.ts';

export const SUBSCRIPTION = `subscription WatchOrder($orderId: ID!, $after: Int) {
  orderStatusChanged(orderId: $orderId, after: $after) { id status version }
}`;
/** The seeded orders are CONFIRMED at version 2: everything after it comes, without gaps. */
const AFTER = 2;
const FLUSH_MS = 50;

const send = (message: FromClients) => process.send!(message);
let batch: ReceivedEvent[] = [];
setInterval(() => {
  if (!batch.length) return;
  send({ type: 'events', events: batch });
  batch = [];
}, FLUSH_MS).unref();

const clients: Client[] = [];
/** Subscriptions open now. */
let open = 0;
/** Set when the bench ends the run: from then on, closes are ours. */
let closing = false;

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error))
    return (error as { message?: string; extensions?: { code?: string } }[])
      .map((e) => `${e.extensions?.code ?? ''} ${e.message ?? ''}`.trim())
      .join('; ');
  if (error && typeof error === 'object' && 'code' in error) {
    const close = error as { code: number; reason?: string };
    return `closed ${close.code}${close.reason ? ` ${close.reason}` : ''}`;
  }
  return JSON.stringify(error);
}

async function openSocket(wsUrl: string, index: number, plan: ClientSocketPlan): Promise<void> {
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${plan.token}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: (error) => {
      if (!closing) send({ type: 'failure', socket: index, what: `socket: ${describe(error)}` });
    },
  });
  clients.push(client);
  client.on('closed', (event) => {
    if (!closing) send({ type: 'failure', socket: index, what: `socket ${describe(event)}` });
  });
  await new Promise<void>((resolve) => {
    const done = client.on('connected', () => (done(), failed(), resolve()));
    const failed = client.on('closed', () => (done(), failed(), resolve()));
  });
  const spares = plan.orders.slice(plan.open);
  const watch = (order: string) => {
    open++;
    client.subscribe<{ orderStatusChanged: { id: string; status: string; version: number } }>(
      { query: SUBSCRIPTION, variables: { orderId: order, after: AFTER } },
      {
        next: ({ data, errors }) => {
          const at = now();
          if (errors?.length) return send({ type: 'failure', socket: index, what: `event error: ${describe(errors)}` });
          const change = data?.orderStatusChanged;
          batch.push({
            socket: index,
            watched: order,
            id: String(change?.id),
            status: String(change?.status),
            version: Number(change?.version),
            at,
          });
        },
        error: (error) => {
          open--;
          if (!closing) send({ type: 'failure', socket: index, what: `subscription to ${order}: ${describe(error)}` });
        },
        complete: () => {
          open--;
          if (closing) return;
          send({ type: 'completed', socket: index, order });
          const next = spares.shift();
          if (next) watch(next);
        },
      },
    );
    send({ type: 'subscribed', socket: index, order });
  };
  for (const order of plan.orders.slice(0, plan.open)) watch(order);
  if (plan.foreign) {
    const foreign = plan.foreign;
    client.subscribe(
      { query: SUBSCRIPTION, variables: { orderId: foreign, after: AFTER } },
      {
        next: ({ data, errors }) =>
          send({
            type: 'probe',
            outcome: errors?.length ? describe(errors) : JSON.stringify(data).slice(0, 200),
            leaked: Boolean(data),
          }),
        error: (error) => send({ type: 'probe', outcome: describe(error), leaked: false }),
        complete: () => {},
      },
    );
  }
}

process.on('message', (message: ToClients) => {
  if (message.type === 'stop') {
    closing = true;
    if (batch.length) send({ type: 'events', events: batch });
    batch = [];
    const stillOpen = open;
    for (const client of clients) void client.dispose();
    send({ type: 'stopped', open: stillOpen });
    setTimeout(() => process.exit(0), 500);
    return;
  }
  void (async () => {
    const started = now();
    const { sockets, wsUrl, concurrency } = message;
    let next = 0;
    // A few sockets at a time, as apps of a shop come and go, not all in one instant.
    const worker = async () => {
      for (let i = next++; i < sockets.length; i = next++) await openSocket(wsUrl, i, sockets[i]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, sockets.length) }, worker));
    send({ type: 'opened', sockets: sockets.length, subscriptions: open, seconds: (now() - started) / 1000 });
  })();
});

// The bench is gone (finished or failed): so are the apps.
process.on('disconnect', () => process.exit(0));
