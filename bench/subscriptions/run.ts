import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GATEWAY_LABELS, postGraphQL, startGateway, writeSupergraph, type GatewayContext } from '../gateways.ts';
import { treeCpuMs, treeRssKb } from '../measure.ts';
import { seededRandom } from '../mix/random.ts';
import { seedMix } from '../mix/seed.ts';
import type { BenchOptions } from '../options.ts';
import { loadAverage, runHeader } from '../report.ts';
import { BENCH_ADMIN, chooseRuntime, ROOT, seedCatalog, startBackends, startSubgraphs } from '../services.ts';
import { OrderDriver } from './driver.ts';
import { Ledger } from './ledger.ts';
import type { ClientSocketPlan, FromClients, ToClients } from './protocol.ts';
import { isSubscriptionsSmoke, writeSubscriptionResults, type SubscriptionResults } from './report.ts';

/**
 * `npm run bench -- --subscriptions`: BENCH_SUBS_TOTAL `orderStatusChanged`
 * subscriptions over WebSockets into one gateway process (ours as it ships,
 * every protection on), held by a client process of their own, with orders
 * moving through their statuses at a steady rate; the gateway's memory and
 * CPU, and how long each change takes to reach its app.
 */
const say = (message: string) => process.stdout.write(`[bench --subscriptions] ${message}\n`);
const SEED = 20_261_207;
/** Sockets the client process opens at a time. */
const OPEN_CONCURRENCY = 50;
/** Connections the driver's mutations use (the shop's back office and apps sending changes). */
const DRIVER_CONNECTIONS = 32;
/** How long changes still under way may take to arrive once the driver stops. */
const GRACE_MS = 10_000;
/** A customer's orders the apps may go on to watch once one is delivered: enough for the run, with room to spare. */
const sparesPerSocket = (options: BenchOptions, sockets: number) =>
  Math.ceil(
    (2 * options.BENCH_SUBS_EVENT_RATE * (options.BENCH_SUBS_SECONDS + options.BENCH_WARMUP_SECONDS)) / 3 / sockets,
  ) + 1;

export async function runSubscriptions(options: BenchOptions, logDir: string): Promise<void> {
  const startedAt = Date.now();
  const loadAtStart = loadAverage();
  const total = options.BENCH_SUBS_TOTAL;
  const perSocket = options.BENCH_SUBS_PER_SOCKET;
  const sockets = Math.ceil(total / perSocket);
  const spares = sparesPerSocket(options, sockets);
  const { runtime, note: runtimeNote } = await chooseRuntime(options, logDir);
  say(`services run as: ${runtimeNote}`);
  say('starting PostgreSQL, Redis and Kafka (scripts/services/services.sh)…');
  const backends = await startBackends(options, logDir);
  say('seeding the demo catalog and the admin (scripts/seed.ts)…');
  await seedCatalog(options, backends, logDir);
  const supergraphFile = writeSupergraph(options);

  // The mix's seeding: customers through the real signUp (their own tokens), orders written in batches.
  const customers = Math.max(2, sockets);
  const ordersPerCustomer = 2 * (perSocket + spares);
  say(`seeding ${customers} customers (signUp) with ${ordersPerCustomer} orders each, half of them CONFIRMED…`);
  const seedStart = Date.now();
  const seeding = await startSubgraphs(options, backends, runtime, logDir, 'seeding', { PASSWORD_HASH_COST: '10' });
  const data = await seedMix(
    {
      ...options,
      BENCH_MIX_CUSTOMERS: customers,
      BENCH_MIX_ORDERS_PER_CUSTOMER: ordersPerCustomer,
      BENCH_MIX_PRODUCTS: 100,
      BENCH_MIX_CATEGORIES: 10,
    },
    backends,
    seededRandom(SEED),
  );
  await Promise.all(Object.values(seeding).map((p) => p.stop()));
  const seedSeconds = (Date.now() - seedStart) / 1000;
  say(`seeded in ${seedSeconds.toFixed(1)}s`);

  say('starting the measured subgraphs and our gateway…');
  const subgraphs = await startSubgraphs(options, backends, runtime, logDir, 'subscriptions');
  const context: GatewayContext = { options, backends, runtime, supergraphFile, logDir };
  const gateway = await startGateway('ours-on', context);
  const gatewayPid = gateway.process.pid;
  const staff = await postGraphQL(
    gateway.url,
    'mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { accessToken } }',
    BENCH_ADMIN,
  );
  const staffToken = (staff.json?.data as { logIn?: { accessToken: string } } | undefined)?.logIn?.accessToken;
  if (!staffToken) throw new Error(`logging the staff in failed: ${staff.text.slice(0, 300)}`);

  // Each socket is one customer's app watching `perSocket` of their CONFIRMED orders (the last socket the rest).
  const confirmedOf = new Map<number, string[]>();
  for (const order of data.payable)
    confirmedOf.set(order.customer, [...(confirmedOf.get(order.customer) ?? []), order.id]);
  const plans: ClientSocketPlan[] = Array.from({ length: sockets }, (_, i) => ({
    customer: i,
    token: data.customers[i]!.token,
    orders: confirmedOf.get(i)!,
    open: Math.min(perSocket, total - i * perSocket),
  }));
  // One more socket, customer 0's second device, asks for customer 1's order: it must be refused and see nothing.
  const probe: ClientSocketPlan = {
    customer: 0,
    token: data.customers[0]!.token,
    orders: [],
    open: 0,
    foreign: confirmedOf.get(1)![0]!,
  };
  const customerOfSocket = [...plans, probe].map((p) => p.customer);
  const ownerOf = (order: string) => data.orders.get(order)?.customer;
  const ledger = new Ledger(ownerOf, (socket) => customerOfSocket[socket]!);
  const driver = new OrderDriver(
    gateway.url,
    ledger,
    { staff: staffToken, ownerOf: (order) => data.customers[ownerOf(order)!]!.token },
    DRIVER_CONNECTIONS,
  );

  const rssBeforeMb = treeRssKb(gatewayPid) / 1024;
  // What the gateway burns with no socket open (its Kafka consumers, Redis, timers): the floor of the idle figure below.
  const idleCpuPercent = async () => {
    const before = treeCpuMs(gatewayPid);
    await sleep(options.BENCH_SUBS_IDLE_SECONDS * 1000);
    return ((treeCpuMs(gatewayPid) - before) / (options.BENCH_SUBS_IDLE_SECONDS * 1000)) * 100;
  };
  let idleWithoutSockets = NaN;
  if (options.BENCH_SUBS_IDLE_SECONDS > 0) {
    say(`${options.BENCH_SUBS_IDLE_SECONDS}s with no socket open…`);
    idleWithoutSockets = await idleCpuPercent();
  }
  say(`opening ${total} subscriptions on ${sockets} sockets (${perSocket} each) from a client process…`);
  const clients = new ClientProcess(logDir);
  const failures: string[] = [];
  let failureCount = 0;
  let probeOutcome: { outcome: string; leaked: boolean } | undefined;
  let open = 0;
  let lowestOpen = Infinity;
  let completed = 0;
  clients.on((message) => {
    switch (message.type) {
      case 'subscribed':
        open++;
        driver.watched(message.order);
        break;
      case 'completed':
        open--;
        completed++;
        break;
      case 'events':
        for (const event of message.events) ledger.receive(event);
        break;
      case 'failure':
        failureCount++;
        if (failures.length < 5) failures.push(`socket ${message.socket}: ${message.what}`);
        break;
      case 'probe':
        probeOutcome = { outcome: message.outcome, leaked: message.leaked };
        break;
    }
  });
  const cpuOpen = treeCpuMs(gatewayPid);
  const opened = await clients.start({
    type: 'start',
    wsUrl: gateway.url.replace(/^http/, 'ws'),
    sockets: [...plans, probe],
    concurrency: OPEN_CONCURRENCY,
  });
  const openCpuMs = treeCpuMs(gatewayPid) - cpuOpen;
  say(`opened ${opened.subscriptions} subscriptions on ${opened.sockets} sockets in ${opened.seconds.toFixed(1)}s`);
  // Let the upstream subscriptions settle (the probe's refusal included), then read what the gateway itself counts.
  await sleep(2000);
  for (let waited = 0; !probeOutcome && waited < 10_000; waited += 100) await sleep(100);
  const gatewayCounts = await scrapeCounts(gateway.url);
  say(`the gateway counts ${JSON.stringify(gatewayCounts)}`);
  const rssOpenMb = treeRssKb(gatewayPid) / 1024;

  let idle: SubscriptionResults['idle'];
  if (options.BENCH_SUBS_IDLE_SECONDS > 0) {
    say(`${options.BENCH_SUBS_IDLE_SECONDS}s with every subscription open and nothing happening…`);
    idle = {
      seconds: options.BENCH_SUBS_IDLE_SECONDS,
      gatewayCpuPercent: await idleCpuPercent(),
      withoutSocketsCpuPercent: idleWithoutSockets,
    };
  }

  const rate = options.BENCH_SUBS_EVENT_RATE;
  if (options.BENCH_WARMUP_SECONDS > 0) {
    say(`warm-up: ${options.BENCH_WARMUP_SECONDS}s of changes at ${rate}/s (checked, not timed)…`);
    await driver.run(rate, options.BENCH_WARMUP_SECONDS);
    await drain(ledger, GRACE_MS);
  }

  say(`measuring: ${options.BENCH_SUBS_SECONDS}s of changes at ${rate}/s…`);
  ledger.measuring = true;
  const pids = { subgraphs: Object.values(subgraphs).map((p) => p.pid), clients: clients.pid };
  const before = {
    gateway: treeCpuMs(gatewayPid),
    subgraphs: pids.subgraphs.reduce((sum, pid) => sum + treeCpuMs(pid), 0),
    bySubgraph: Object.fromEntries(Object.entries(subgraphs).map(([name, p]) => [name, treeCpuMs(p.pid)])),
    clients: treeCpuMs(pids.clients),
    bench: process.cpuUsage(),
    at: Date.now(),
    received: ledger.summary().received,
  };
  let peakRssMb = 0;
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, treeRssKb(gatewayPid) / 1024);
    lowestOpen = Math.min(lowestOpen, open);
  }, 1000);
  const driven = await driver.run(rate, options.BENCH_SUBS_SECONDS);
  await drain(ledger, GRACE_MS);
  clearInterval(sampler);
  const seconds = (Date.now() - before.at) / 1000;
  const bench = process.cpuUsage(before.bench);
  const cpu = {
    gatewayMs: treeCpuMs(gatewayPid) - before.gateway,
    subgraphsMs: pids.subgraphs.reduce((sum, pid) => sum + treeCpuMs(pid), 0) - before.subgraphs,
    bySubgraph: Object.fromEntries(
      Object.entries(subgraphs).map(([name, p]) => [name, treeCpuMs(p.pid) - before.bySubgraph[name]!]),
    ),
    clientsMs: treeCpuMs(pids.clients) - before.clients,
    benchMs: (bench.user + bench.system) / 1000,
  };
  peakRssMb = Math.max(peakRssMb, treeRssKb(gatewayPid) / 1024);
  const countsAfter = await scrapeCounts(gateway.url);
  const stillOpen = await clients.stop();
  await driver.close();
  const ledgerSummary = ledger.summary();
  const eventsMeasured = ledgerSummary.received - before.received;

  const problems = [
    ...(driven.errors ? [`${driven.errors} status changes failed, e.g. ${driven.errorSamples[0]}`] : []),
    ...(ledgerSummary.missed ? [`${ledgerSummary.missed} changes never reached their app`] : []),
    ...(ledgerSummary.violations
      ? [`${ledgerSummary.violations} wrong events, e.g. ${ledgerSummary.violationSamples[0]}`]
      : []),
    ...(failureCount ? [`${failureCount} sockets or subscriptions failed, e.g. ${failures[0]}`] : []),
    ...(opened.subscriptions < total ? [`only ${opened.subscriptions} of ${total} subscriptions opened`] : []),
    ...(gatewayCounts.gateway_subscriptions_active !== total
      ? [`the gateway counted ${gatewayCounts.gateway_subscriptions_active} subscriptions streaming, not ${total}`]
      : []),
    ...(!probeOutcome
      ? ['the foreign-order probe got no answer']
      : probeOutcome.leaked || !/FORBIDDEN/.test(probeOutcome.outcome)
        ? [`the foreign-order probe was not refused as FORBIDDEN: ${probeOutcome.outcome}`]
        : []),
    ...(driven.starved ? [`${driven.starved} changes were due when no watched order could move`] : []),
  ];

  const results: SubscriptionResults = {
    ...runHeader({
      smoke: isSubscriptionsSmoke(options),
      startedAt,
      loadAtStart,
      runtime: runtimeNote,
      seedSeconds,
      root: ROOT,
    }),
    settings: Object.fromEntries(
      Object.entries(options).filter(([k]) => k.startsWith('BENCH_SUBS_') || k === 'BENCH_WARMUP_SECONDS'),
    ),
    gateway: { label: GATEWAY_LABELS['ours-on'], command: gateway.command },
    shape: { sockets, perSocket, customers, ordersPerCustomer },
    opening: { ...opened, gatewayCpuMsPerSubscription: openCpuMs / Math.max(1, opened.subscriptions) },
    gatewayCounts,
    countsAfter,
    rss: { beforeMb: rssBeforeMb, openMb: rssOpenMb, peakMb: peakRssMb },
    ...(idle ? { idle } : {}),
    run: {
      seconds,
      rate,
      changes: driven,
      eventsReceived: eventsMeasured,
      gatewayCpuPercent: (cpu.gatewayMs / (seconds * 1000)) * 100,
      gatewayCpuMsPerEvent: cpu.gatewayMs / Math.max(1, eventsMeasured),
      subgraphsCpuPercent: (cpu.subgraphsMs / (seconds * 1000)) * 100,
      subgraphCpuMsPerEvent: Object.fromEntries(
        Object.entries(cpu.bySubgraph).map(([name, ms]) => [name, ms / Math.max(1, eventsMeasured)]),
      ),
      clientsCpuPercent: (cpu.clientsMs / (seconds * 1000)) * 100,
      benchCpuPercent: (cpu.benchMs / (seconds * 1000)) * 100,
      lowestOpen: Number.isFinite(lowestOpen) ? lowestOpen : open,
      openAtEnd: stillOpen,
      resubscribed: completed,
    },
    ledger: ledgerSummary,
    probe: probeOutcome ?? { outcome: 'no answer', leaked: false },
    failures: { count: failureCount, samples: failures },
    problems,
  };
  const outputDir = resolve(ROOT, options.BENCH_OUTPUT_DIR);
  mkdirSync(outputDir, { recursive: true });
  say(
    `gateway RSS ${rssOpenMb.toFixed(0)} MB with every subscription open (peak ${peakRssMb.toFixed(0)} MB), CPU ${results.run.gatewayCpuPercent.toFixed(1)}% of a core; ` +
      `${ledgerSummary.received}/${ledgerSummary.changes} changes received; mutation send → app p50 ${ledgerSummary.fromSend.p50Ms.toFixed(1)} ms, p99 ${ledgerSummary.fromSend.p99Ms.toFixed(1)} ms`,
  );
  say(`wrote ${writeSubscriptionResults(results, outputDir)}${results.smoke ? ' (marked as a smaller run)' : ''}`);
  if (problems.length) throw new Error(`the run is not valid:\n  - ${problems.join('\n  - ')}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every change made has arrived, or `graceMs` passed. */
async function drain(ledger: Ledger, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (ledger.outstanding() > 0 && Date.now() < deadline) await sleep(100);
}

/** What the gateway's own gauges say: client sockets, client subscriptions, upstream subscriptions. */
async function scrapeCounts(url: string): Promise<Record<string, number>> {
  const text = await fetch(new URL('/metrics', url)).then((res) => res.text());
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match =
      /^(gateway_websocket_connections|gateway_subscriptions_active|gateway_upstream_subscriptions)(\{[^}]*\})? (\S+)/.exec(
        line,
      );
    if (match) counts[`${match[1]}${match[2] ?? ''}`] = Number(match[3]);
  }
  return counts;
}

/** The client process (clients.ts), under the same loader as the bench. */
class ClientProcess {
  private readonly child: ChildProcess;
  private readonly listeners: ((message: FromClients) => void)[] = [];

  constructor(logDir: string) {
    this.child = fork(join(ROOT, 'bench/subscriptions/clients.ts'), [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: logDir,
    });
    this.child.on('message', (message: FromClients) => this.listeners.forEach((l) => l(message)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  on(listener: (message: FromClients) => void): void {
    this.listeners.push(listener);
  }

  start(message: ToClients): Promise<Extract<FromClients, { type: 'opened' }>> {
    return new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`the client process exited (${code}) while opening`)));
      this.on((m) => m.type === 'opened' && resolve(m));
      this.child.send(message);
    });
  }

  /** Closes every socket; resolves with how many subscriptions were still open. */
  stop(): Promise<number> {
    return new Promise((resolve) => {
      this.on((m) => m.type === 'stopped' && resolve(m.open));
      this.child.send({ type: 'stop' } satisfies ToClients);
      setTimeout(() => (this.child.kill(), resolve(NaN)), 15_000).unref();
    });
  }
}
