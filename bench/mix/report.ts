import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions, GatewayId } from '../options.ts';
import type { RunHeader } from '../report.ts';
import { judgedRun, serviceCpuPerRequest, type ServicesResults } from '../services-report.ts';
import { writeSection } from '../results-file.ts';
import type { StepResult } from './load.ts';
import { OPERATION_QUERIES, READ_WEIGHTS, type OperationKind } from './operations.ts';
import type { SearchOutcome } from './search.ts';

/** The mix's figures: its own section of bench/RESULTS.md and every step in bench/mix-results.json. */
export interface MixResults extends RunHeader {
  settings: Record<string, unknown>;
  data: {
    customers: number;
    products: number;
    categories: number;
    searchTerms: number;
    seededOrders: number;
    publicReferences: number;
  };
  gateways: { id: GatewayId; label: string; command: string; subscriptions: boolean }[];
  /** CPU ms per second with no load, all gateways up. */
  idle: { subgraphsMsPerSecond: number; gatewaysMsPerSecond: Partial<Record<GatewayId, number>> };
  rounds: ({ round: number; gateway: GatewayId } & SearchOutcome)[];
}

/** Below these the figures only prove the mix works: the headline run is 15 s steps, ≥ 2 rounds, ≥ 1,000 customers. */
export const isMixSmoke = (options: BenchOptions) =>
  options.BENCH_MIX_STEP_SECONDS < 15 || options.BENCH_ROUNDS < 2 || options.BENCH_MIX_CUSTOMERS < 1000;

const fmt = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
/** The round at the median of the sustained rates (for an even number of rounds, the lower of the middle two): its figures are real ones. */
function medianRound(rounds: MixResults['rounds']): MixResults['rounds'][number] | undefined {
  const sorted = [...rounds].sort((a, b) => (a.sustained?.rate ?? 0) - (b.sustained?.rate ?? 0));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Why the rate targets are missed, from this run's own figures: the CPU each
 * gateway and the subgraphs spent per request at the sustained rate, what the
 * two cores could give at most, and the share of the mix no gateway can keep
 * from the services.
 */
function whyMissed(
  results: MixResults,
  typical: Map<GatewayId, StepResult | undefined>,
  { ours, peers }: { ours: MixResults['gateways']; peers: MixResults['gateways'] },
  writePercent: number,
  outputDir: string,
): string[] {
  const readTotal = Object.values(READ_WEIGHTS).reduce((a, b) => a + b, 0);
  const personal = (['history', 'order', 'profile'] as const).reduce(
    (sum, kind) => sum + ((100 - writePercent) * READ_WEIGHTS[kind]) / readTotal,
    0,
  );
  const coresFullAt = new Map<GatewayId, number>();
  const perGateway = results.gateways.map((g) => {
    const st = typical.get(g.id);
    const perRequest =
      (st?.gatewayCpuNetMsPerRequest ?? NaN) +
      (st?.subgraphsCpuNetMsPerRequest ?? NaN) +
      (st?.loadGeneratorCpuMsPerRequest ?? NaN);
    const spare =
      results.machine.cores * 1000 - results.idle.subgraphsMsPerSecond - (results.idle.gatewaysMsPerSecond[g.id] ?? 0);
    coresFullAt.set(g.id, spare / perRequest);
    return `${g.label}: gateway ${fmt(st?.gatewayCpuNetMsPerRequest, 2)} + subgraphs ${fmt(st?.subgraphsCpuNetMsPerRequest, 2)} + load generator ${fmt(st?.loadGeneratorCpuMsPerRequest, 2)} ms, so the two cores would be full near ${fmt(spare / perRequest, 0)}/s (PostgreSQL, Redis and Kafka not counted)`;
  });
  const cpu = (id: GatewayId, of: 'gatewayCpuNetMsPerRequest' | 'subgraphsCpuNetMsPerRequest') =>
    typical.get(id)?.[of] ?? NaN;
  const lowestGateway = ours.every((o) =>
    peers.every((p) => cpu(o.id, 'gatewayCpuNetMsPerRequest') < cpu(p.id, 'gatewayCpuNetMsPerRequest')),
  )
    ? results.gateways.map((g) => `${g.label} ${fmt(cpu(g.id, 'gatewayCpuNetMsPerRequest'), 2)} ms`).join(', ')
    : undefined;
  // How far below the peers' the services' cost per request of ours is: what its response and entity caches save them.
  const subgraphRatios = ours.flatMap((o) =>
    peers.map(
      (p) =>
        `${fmt(cpu(o.id, 'subgraphsCpuNetMsPerRequest') / cpu(p.id, 'subgraphsCpuNetMsPerRequest'), 2)}× ${p.label}'s`,
    ),
  );
  const history = historyServiceCpu(outputDir);
  const tailBreaks = results.gateways.every((g) => (typical.get(g.id)?.rate ?? 0) < (coresFullAt.get(g.id) ?? 0));
  const slowest = ours.map((o) => {
    const byKind = Object.entries(typical.get(o.id)?.byKind ?? {}) as [OperationKind, { p99Ms: number }][];
    const top = byKind.sort(([, a], [, b]) => b.p99Ms - a.p99Ms).slice(0, 2);
    return `${o.label}: ${top.map(([kind, k]) => `${kind} p99 ${fmt(k.p99Ms, 0)} ms`).join(', ')}`;
  });
  return [
    '**Why the rate targets are missed** (from the figures above):',
    '',
    `- **The services are the wall, and every gateway meets the same one.** CPU per request at each gateway's sustained rate, idle taken out — ${perGateway.join('; ')}.`,
    `- **Ours keeps the public pages from the services (its response cache) and the products on personal pages (its entity cache), but not the rest.** The personal pages (history, order, profile: ${fmt(personal)}% of the mix) still reach the users and orders services behind every gateway, as do the orders and payments (${fmt(writePercent)}%), and they cost the services most${history === undefined ? '' : `: one order-history page is ${fmt(history, 2)} ms of service CPU (the section "Service CPU per request" below, target 2 ms)`}. So the subgraphs spend per request of ours ${subgraphRatios.join(' and ')} — not the third or less that 3× their rate would need.`,
    tailBreaks
      ? `- **The p99 limit breaks before the cores are full** (every gateway's sustained rate is below its estimate above): by the tail of the slowest operations at the sustained rate (${slowest.join('; ')}; the latency table below). Reaching 3× stock needs the services' cost per personal page cut several times (issue 14's service targets).${lowestGateway ? ` The gateway's own CPU per request is already the lowest of the gateways here (${lowestGateway}).` : ''}`
      : `- **The cores are full at the sustained rates** (a gateway's sustained rate reaches its estimate above).${lowestGateway ? ` The gateway's own CPU per request is the lowest of the gateways here (${lowestGateway}).` : ''}`,
  ];
}

/** One order-history page's service CPU from `npm run bench:services`, when its results sit beside these. */
function historyServiceCpu(outputDir: string): number | undefined {
  const file = join(outputDir, 'services-cpu-results.json');
  if (!existsSync(file)) return undefined;
  const { runs } = JSON.parse(readFileSync(file, 'utf8')) as ServicesResults;
  const label = judgedRun(runs);
  return label ? serviceCpuPerRequest(runs[label]!, 'b') : undefined;
}

export function writeMixResults(results: MixResults, outputDir: string): string {
  writeFileSync(join(outputDir, 'mix-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const s = results.settings;
  const lines: string[] = [];
  lines.push(
    `## Realistic mix: the highest rate each gateway sustains (p99 ≤ ${String(s.BENCH_MIX_P99_MS)} ms, no errors)`,
    '',
  );
  // The figures are only as good as the machine was quiet: busy before the run started (other work), they are noise.
  const loadAtStart = Number(results.loadAverage.start.split(' ')[0]);
  const busy = loadAtStart > results.machine.cores * 0.75;
  const judged = !results.smoke && !busy;
  if (!judged)
    lines.push(
      '> **SMOKE RUN — these figures only show that the mix works end to end; they are not a measurement.**',
      ...(results.smoke
        ? [
            '> Steps shorter than 15 s, fewer than 2 rounds or fewer than 1,000 customers (the headline run: 15 s steps, ≥ 2 rounds, ≥ 1,000 customers).',
          ]
        : []),
      ...(busy
        ? [
            `> The machine was busy before the run began (load average ${loadAtStart.toFixed(2)} on ${results.machine.cores} cores): other work took most of the CPU, and rates swing from round to round.`,
          ]
        : []),
      '> Run `npm run bench -- --mix` on a quiet machine to replace them.',
      '',
    );
  lines.push(
    `- **Date:** ${results.date}`,
    `- **Machine:** ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.ramGb} GB RAM; ${results.machine.os}; Node ${results.machine.node}; load average ${results.loadAverage.start} at the start, ${results.loadAverage.end} at the end`,
    `- **Commit:** \`${results.commit.sha}\`${results.commit.dirty ? ' (with uncommitted changes)' : ''}`,
    `- **Settings:** ${Object.entries(s)
      .map(([k, v]) => `\`${k}=${String(v)}\``)
      .join(', ')}`,
    `- **Our services ran as:** ${results.runtime}; the whole run took ${fmt(results.wallSeconds / 60)} min (seeding ${fmt(results.seedSeconds)} s)`,
    '',
    '### The load',
    '',
    `${results.data.customers} customers, each signed up through the real \`signUp\` (their own access token) with ${results.data.seededOrders / results.data.customers} orders of their own (about half CONFIRMED, the rest PAID, SHIPPED or DELIVERED; written straight into the orders tables in batches); a catalog of ${results.data.products} products in ${results.data.categories} categories (written straight into the products tables, announced to orders). Requests arrive at a constant rate (an open model: request *i* is due at *i*/rate whatever the gateway answers, and its latency counts from that moment, so a gateway that falls behind shows it). Customers are drawn uniformly; products, categories and the ${results.data.searchTerms} search terms by Zipf popularity (exponent ${String(s.BENCH_MIX_ZIPF)}).`,
    '',
    '| operation | share | what |',
    '|---|---:|---|',
  );
  const place = Number(s.BENCH_MIX_PLACE_ORDER_PERCENT);
  const pay = Number(s.BENCH_MIX_PAY_PERCENT);
  const readTotal = Object.values(READ_WEIGHTS).reduce((a, b) => a + b, 0);
  const what: Record<OperationKind, string> = {
    home: 'home page: categories and the newest 20 products (public)',
    category: 'a category page, 20 products (public, Zipf)',
    search: 'full-text search, 10 hits (public, Zipf)',
    product: 'a product page (public, Zipf)',
    history: "the customer's last 10 orders with items, products and prices",
    order: 'one of their own orders with items, history and user',
    profile: 'their profile',
    placeOrder: 'placeOrder of 1–3 popular products (the real saga: Kafka, stock reservation, CONFIRMED)',
    payOrder: 'payOrder of one of their CONFIRMED orders (watched ones first)',
  };
  for (const [kind, weight] of Object.entries(READ_WEIGHTS))
    lines.push(`| ${kind} | ${fmt(((100 - place - pay) * weight) / readTotal)}% | ${what[kind as OperationKind]} |`);
  lines.push(
    `| placeOrder | ${fmt(place)}% | ${what.placeOrder} |`,
    `| payOrder | ${fmt(pay)}% | ${what.payOrder} |`,
    '',
  );
  lines.push(
    `Subscriptions: during every step ${String(s.BENCH_MIX_OPEN_SUBSCRIPTIONS)} customers each hold a graphql-ws socket with an \`orderStatusChanged\` subscription on one of their CONFIRMED orders; payments pay watched orders first, and each payment must reach its socket as a PAID event within ${10} s, or the step fails like an error.`,
    '',
    "**Checked before counted:** every answer. Public answers (home, category, search, product pages: the reference of all of them was taken from each gateway before the run, and every gateway's data was the same) must equal their reference. Personal answers must be the asking customer's own — `me.id`, each order's `user.id`, no order id another customer owns, the lines each order was placed with, and the profile as signed up. An answer with errors, a non-200 status or a timeout (10 s) is an *error* (it fails the step, as overload does); data that is not the right data is a *wrong answer* and stops the whole run.",
    '',
    '**Search:** from the start rate, the rate doubles while a step holds (p99 within the limit, no errors, every expected event), then is bisected between the highest rate that held and the lowest that failed until they are within the precision setting; each step runs for the step time on fresh connections. A step that fails is run once more at the same rate, and the rate fails only when both do (the same second chance for every gateway).',
    '',
    '| gateway | how it runs | subscriptions |',
    '|---|---|---|',
    ...results.gateways.map(
      (g) =>
        `| ${g.label} | ${g.command} | ${g.subscriptions ? 'yes' : g.id === 'stock' ? 'no: @apollo/gateway does not execute subscriptions' : 'not measured: the subgraphs accept subscription sockets only signed by our gateway'} |`,
    ),
    '',
    "How the peers act for many customers: they verify no token; each signs its subgraph calls as our gateway does (bench/peers/sign.mjs: stock through `buildService`, Hive through an `onFetch` plugin), acting for the customer the request's `x-bench-customer-id` header names, so the subgraphs run in production mode and verify every call. Hive also passes that header on to the subgraphs (`propagateHeaders`, as its docs forward a caller's credentials), so its in-flight fetch deduplication, which keys a fetch by its headers before signing, never merges two customers' fetches. Every gateway gets the same requests, the customer's token and that header included; ours verifies the token, checks revocation and rate limits and signs its subgraph calls, and ignores the header.",
    '',
    '### Results',
    '',
    `CPU per request is the process's CPU time over the step divided by the requests sent, less what the process burns with no load over the same time (measured once before the rounds, every gateway up and the subgraphs done with the seeding's events: subgraphs ${fmt(results.idle.subgraphsMsPerSecond, 0)} ms/s; ${results.gateways.map((g) => `${g.label} ${fmt(results.idle.gatewaysMsPerSecond[g.id], 0)} ms/s`).join(', ')}); the raw figures are in the JSON.`,
    '',
    '| gateway | highest sustained rate (median round) | each round | fails at | p50 / p99 ms at that rate | gateway CPU ms/req | subgraphs CPU ms/req | load gen CPU ms/req | gateway RSS MB | events received / expected | event p99 ms |',
    '|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  const byGateway = new Map<GatewayId, MixResults['rounds']>();
  for (const r of results.rounds) byGateway.set(r.gateway, [...(byGateway.get(r.gateway) ?? []), r]);
  const medians = new Map<GatewayId, number>();
  const typical = new Map<GatewayId, StepResult | undefined>();
  for (const g of results.gateways) {
    const rounds = byGateway.get(g.id) ?? [];
    const middle = medianRound(rounds);
    const st: StepResult | undefined = middle?.sustained;
    medians.set(g.id, st?.rate ?? 0);
    typical.set(g.id, st);
    const sub = st?.subscriptions;
    lines.push(
      `| ${g.label} | **${fmt(st?.rate ?? 0, 0)}/s** | ${rounds.map((r) => `${r.sustained?.rate ?? 0}`).join(', ')} | ${rounds.map((r) => (r.failed ? `${r.failed.rate}` : '—')).join(', ')} | ${fmt(st?.p50Ms)} / ${fmt(st?.p99Ms)} | ${fmt(st?.gatewayCpuNetMsPerRequest, 3)} | ${fmt(st?.subgraphsCpuNetMsPerRequest, 3)} | ${fmt(st?.loadGeneratorCpuMsPerRequest, 3)} | ${fmt(st?.gatewayRssMb, 0)} | ${sub ? `${sub.received} / ${sub.expected}` : '—'} | ${sub?.expected ? fmt(sub.p99Ms, 0) : '—'} |`,
    );
  }
  lines.push('');
  const ours = results.gateways.filter((g) => g.id.startsWith('ours'));
  const peers = results.gateways.filter((g) => !g.id.startsWith('ours'));
  if (ours.length && peers.length) {
    let missed = false;
    const unsteady: string[] = [];
    lines.push('| ratio of sustained rates | measured (medians) | round by round | target |', '|---|---:|---|---|');
    // The same round's rates side by side: how far the ratio itself moves between rounds on this machine.
    const rateIn = (id: GatewayId, round: number) =>
      results.rounds.find((r) => r.gateway === id && r.round === round)?.sustained?.rate ?? 0;
    const roundNumbers = [...new Set(results.rounds.map((r) => r.round))].sort((a, b) => a - b);
    for (const o of ours)
      for (const p of peers) {
        const r = medians.get(o.id)! / medians.get(p.id)!;
        const roundRatios = roundNumbers.map((n) => rateIn(o.id, n) / rateIn(p.id, n));
        const byRound = roundRatios.map((x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a')).join(', ');
        const target = p.id === 'stock' ? '≥ 3×' : p.id === 'hive' ? '≥ 1.5×' : '';
        const goal = p.id === 'stock' ? 3 : 1.5;
        const met = r >= goal;
        if (!met) missed = true;
        const below = roundRatios.filter((x) => !(x >= goal));
        if (met && below.length > 0)
          unsteady.push(
            `${o.label} ÷ ${p.label} is met on the medians but not in every round (${below.length} of ${roundRatios.length} below ${goal}×): on this shared machine a round's rate moves by more than the margin.`,
          );
        if (!judged) {
          lines.push(
            `| ${o.label} ÷ ${p.label} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} | ${byRound} | ${target} (not judged: smoke run) |`,
          );
          continue;
        }
        lines.push(
          `| ${o.label} ÷ ${p.label} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} | ${byRound} | ${target} ${Number.isFinite(r) ? (met ? '(met)' : '(**NOT met**)') : ''} |`,
        );
      }
    lines.push('');
    if (judged && unsteady.length > 0) lines.push(...unsteady.map((u) => `- ${u}`), '');
    if (judged && missed) lines.push(...whyMissed(results, typical, { ours, peers }, place + pay, outputDir), '');
  }
  const short = results.rounds.flatMap((r) =>
    r.steps.filter((s) => s.skippedPayments > 0).map(() => `${r.round}:${r.gateway}`),
  );
  if (short.length > 0) {
    const label = (id: string) => results.gateways.find((g) => g.id === id)?.label ?? id;
    const where = [...new Set(short)]
      .map((key) => {
        const [round, id] = key.split(':');
        return `round ${round} ${label(id!)}`;
      })
      .join(', ');
    lines.push(
      `**Payments ran out** in ${short.length} step(s) (${where}): with no CONFIRMED order left to pay, those steps placed an order instead of each payment (so ${place + pay}% placeOrder and no payOrder, and no subscription events to count). Every gateway of a round met the same mix only where all of them ran short; compare rounds where none did.`,
      '',
    );
  }
  lines.push("Latency by operation at each gateway's sustained rate (the round shown above):", '');
  const kinds = Object.keys(OPERATION_QUERIES) as OperationKind[];
  lines.push(`| gateway | ${kinds.join(' | ')} |`, `|---|${kinds.map(() => '---:').join('|')}|`);
  for (const g of results.gateways) {
    const st = typical.get(g.id);
    lines.push(
      `| ${g.label} | ${kinds.map((k) => (st?.byKind[k] ? `${fmt(st.byKind[k].p50Ms)} / ${fmt(st.byKind[k].p99Ms)}` : '—')).join(' | ')} |`,
    );
  }
  lines.push('', 'p50 / p99 ms from due time to answer.', '', '### Every step', '');
  lines.push(
    '| round | gateway | rate /s | answers /s | p50 ms | p99 ms | errors | gateway CPU ms/req | subgraphs CPU ms/req | held | e.g. |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  );
  for (const r of results.rounds)
    for (const st of r.steps)
      lines.push(
        `| ${r.round} | ${results.gateways.find((g) => g.id === r.gateway)!.label} | ${st.rate} | ${fmt(st.throughput, 0)} | ${fmt(st.p50Ms)} | ${fmt(st.p99Ms)} | ${st.errors} | ${fmt(st.gatewayCpuNetMsPerRequest, 2)} | ${fmt(st.subgraphsCpuNetMsPerRequest, 2)} | ${st.sustained ? 'yes' : 'no'} | ${(st.errorSamples[0] ?? (st.subscriptions && st.subscriptions.received < st.subscriptions.expected ? `events ${st.subscriptions.received}/${st.subscriptions.expected}` : '')).replaceAll('|', '\\|').slice(0, 120)} |`,
      );
  lines.push(
    '',
    'Every step, with per-operation figures: `bench/mix-results.json`. Reproduce: `npm run bench -- --mix` (settings: `bench/options.ts`, `bench/README.md`).',
  );
  const file = join(outputDir, 'RESULTS.md');
  writeSection(file, 'mix', lines.join('\n'));
  return file;
}
