/**
 * `npm run bench:calls`: what one call to a subgraph costs the subgraph, with
 * no gateway in between. The four calls the gateway makes for an order-history
 * page (users `me`, orders `User.orders`, products and users `_entities`) and
 * the floor every call pays (`{ __typename }`: reading the signed request,
 * Apollo Server's pipeline, writing the answer; no SQL), each sent signed as
 * our gateway sends it, at two loads:
 *
 * - **open**: `BENCH_SERVICES_RATE` calls a second (an open model), the load a
 *   subgraph meets behind a gateway serving a mix: it idles between calls;
 * - **busy**: as fast as four connections go, the subgraph's core full.
 *
 * CPU from /proc (user and system) of the subgraph process over the
 * measurement, less what it burns idle, divided by the calls; the median over
 * rounds; and how much of the CPU was system time (the kernel: sockets,
 * wake-ups). Prints the table; RESULTS.md keeps the figures of record.
 *
 *   npm run bench:calls                                   # 3 rounds × 10 s per call and load
 *   npm run bench:calls -- --duration=2 --rounds=1        # a smoke run
 *   npm run bench:calls -- --services-rate=100
 */
import type { Identity } from '@storefront/platform/auth';
import { callSubgraph } from '@storefront/platform/testing';
import { systemCpuMs, treeCpuMs } from './measure.ts';
import type { BenchOptions } from './options.ts';
import { BENCH_SECRET, subgraphUrl, type SubgraphName } from './services.ts';
import { median } from './stats.ts';
import { prepareStack, runBench, say } from './stack.ts';

interface Call {
  name: string;
  subgraph: SubgraphName;
  query: string;
  variables?: Record<string, unknown>;
  /** Whom the call acts for: the bench customer, or nobody (a public call). */
  asCustomer: boolean;
}

const IDLE_SECONDS = 5;
const BUSY_CONNECTIONS = 4;

function historyPageCalls(customerId: string, productIds: string[]): Call[] {
  const customer = [{ __typename: 'User', id: customerId }];
  return [
    { name: 'floor: { __typename }', subgraph: 'products', query: '{ __typename }', asCustomer: false },
    { name: 'users: me', subgraph: 'users', query: '{ me { __typename id name } }', asCustomer: true },
    {
      name: 'orders: User.orders (10 orders, items)',
      subgraph: 'orders',
      query:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 10) { edges { node { id status createdAt total { amount currency } items { quantity product { __typename id } } user { __typename id } } } } } } }',
      variables: { r: customer },
      asCustomer: true,
    },
    {
      name: `products: _entities (${productIds.length} products)`,
      subgraph: 'products',
      query:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { name price { amount currency } } } }',
      variables: { r: productIds.map((id) => ({ __typename: 'Product', id })) },
      asCustomer: true,
    },
    {
      name: 'users: _entities (the customer)',
      subgraph: 'users',
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { name email } } }',
      variables: { r: customer },
      asCustomer: true,
    },
  ];
}

const asCustomer = (customerId: string): Identity => ({ userId: customerId, role: 'CUSTOMER' });

async function send(url: string, call: Call, customerId: string): Promise<void> {
  const identity = call.asCustomer ? asCustomer(customerId) : null;
  const answer = await callSubgraph(url, call.query, call.variables, identity, BENCH_SECRET);
  if (answer.status !== 200 || answer.errors)
    throw new Error(`${call.name}: HTTP ${answer.status} ${JSON.stringify(answer.errors ?? []).slice(0, 300)}`);
}

/** Calls at `rate` a second (open model) for `seconds`; the number sent. */
async function sendAtRate(url: string, call: Call, customerId: string, rate: number, seconds: number) {
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (inFlight.length < due) inFlight.push(send(url, call, customerId));
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inFlight);
  return inFlight.length;
}

/** Calls as fast as `connections` go for `seconds`; the number sent. */
async function sendBusy(url: string, call: Call, customerId: string, connections: number, seconds: number) {
  const until = performance.now() + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        await send(url, call, customerId);
        sent += 1;
      }
    }),
  );
  return sent;
}

async function main(options: BenchOptions): Promise<void> {
  const { subgraphs, customer } = await prepareStack(options);
  const productIds = await productsOfOrders(subgraphUrl(options, 'orders'), customer.userId);
  const calls = historyPageCalls(customer.userId, productIds);
  const loads = {
    open: (url: string, call: Call, seconds: number) =>
      sendAtRate(url, call, customer.userId, options.BENCH_SERVICES_RATE, seconds),
    busy: (url: string, call: Call, seconds: number) => sendBusy(url, call, customer.userId, BUSY_CONNECTIONS, seconds),
  };

  const idleMsPerSecond = {} as Record<SubgraphName, number>;
  for (const name of new Set(calls.map((c) => c.subgraph))) {
    const before = treeCpuMs(subgraphs[name].pid);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    idleMsPerSecond[name] = (treeCpuMs(subgraphs[name].pid) - before) / IDLE_SECONDS;
  }
  say(
    `idle CPU ms/s: ${Object.entries(idleMsPerSecond)
      .map(([n, ms]) => `${n} ${ms.toFixed(1)}`)
      .join(', ')}`,
  );

  const samples = new Map<string, number[]>();
  const systemShares = new Map<string, number[]>();
  for (let round = 1; round <= options.BENCH_ROUNDS; round += 1) {
    for (const call of calls) {
      const url = subgraphUrl(options, call.subgraph);
      const pid = subgraphs[call.subgraph].pid;
      for (const [load, run] of Object.entries(loads)) {
        if (options.BENCH_WARMUP_SECONDS > 0) await run(url, call, options.BENCH_WARMUP_SECONDS);
        const before = treeCpuMs(pid);
        const systemBefore = systemCpuMs(pid);
        const clock = performance.now();
        const sent = await run(url, call, options.BENCH_DURATION_SECONDS);
        const seconds = (performance.now() - clock) / 1000;
        const msPerCall = Math.max(0, treeCpuMs(pid) - before - idleMsPerSecond[call.subgraph] * seconds) / sent;
        const systemShare = (systemCpuMs(pid) - systemBefore) / Math.max(1, treeCpuMs(pid) - before);
        const key = `${call.name}\t${load}`;
        samples.set(key, [...(samples.get(key) ?? []), msPerCall]);
        systemShares.set(key, [...(systemShares.get(key) ?? []), systemShare]);
        say(
          `round ${round} ${call.name}, ${load}: ${(sent / seconds).toFixed(0)} calls/s, ${msPerCall.toFixed(3)} ms CPU/call`,
        );
      }
    }
  }

  const rows = calls.map((call) => {
    const of = (load: string) => {
      const key = `${call.name}\t${load}`;
      return `${median(samples.get(key)!).toFixed(2)} (${(median(systemShares.get(key)!) * 100).toFixed(0)}%)`;
    };
    return `| ${call.name} | ${of('open')} | ${of('busy')} |`;
  });
  process.stdout.write(
    [
      '',
      `CPU ms per call of the subgraph (median of ${options.BENCH_ROUNDS} rounds; idle taken out), (system time's share of it)`,
      `| call | open, ${options.BENCH_SERVICES_RATE}/s | busy, ${BUSY_CONNECTIONS} connections |`,
      '|---|---:|---:|',
      ...rows,
      '',
    ].join('\n'),
  );
}

/** The products of the bench customer's last ten orders, as the gateway would ask products for them. */
async function productsOfOrders(ordersUrl: string, customerId: string): Promise<string[]> {
  const query =
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 10) { edges { node { items { product { id } } } } } } } }';
  const answer = await callSubgraph<{
    _entities: { orders: { edges: { node: { items: { product: { id: string } }[] } }[] } }[];
  }>(ordersUrl, query, { r: [{ __typename: 'User', id: customerId }] }, asCustomer(customerId), BENCH_SECRET);
  if (!answer.data)
    throw new Error(`the bench customer's orders: HTTP ${answer.status} ${JSON.stringify(answer.errors)}`);
  const ids = answer.data._entities[0]!.orders.edges.flatMap((e) => e.node.items.map((i) => i.product.id));
  return [...new Set(ids)];
}

await runBench('bench:calls', main);
