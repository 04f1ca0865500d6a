import type { GatewayContext, RunningGatewayProcess } from './gateways.ts';
import { writeSupergraph } from './gateways.ts';
import { measureTogether, runLoad, treeCpuMs, type Sample } from './measure.ts';
import type { BenchOptions, QueryId } from './options.ts';
import { prepareVariables, QUERIES, requestBody, verifySameData } from './queries.ts';
import { startReplayingSubgraphs, type ReplayingSubgraphs } from './replay.ts';
import { logInCustomer } from './seed.ts';
import { SUBGRAPHS, subgraphUrl } from './services.ts';
import { prepareStack, say, type BenchStack } from './stack.ts';

/**
 * Gateways measured side by side on replayed subgraphs, for the benches that
 * compare gateway CPU per request (`bench:tracing`, `bench:gateway`):
 *
 * 1. the usual stack (bench/stack.ts), and a replaying proxy in front of the
 *    real subgraphs (bench/replay.ts) that the gateways are routed to;
 * 2. the bench starts its gateways; each query is asked of each once, which
 *    checks they give the same data and records every subgraph answer;
 * 3. the real subgraphs stop, so the cores belong to the gateways and the
 *    load generator;
 * 4. in each round every gateway gets the same load at the same time, so a
 *    busy moment of the machine weighs on all of them alike.
 */
export interface NamedGateway extends RunningGatewayProcess {
  name: string;
}

export interface ReplayedStack extends BenchStack {
  /** The bench's context with the supergraph routed to the replay: what the compared gateways start with. */
  replayContext: GatewayContext;
  replay: ReplayingSubgraphs;
}

export async function prepareReplayedStack(options: BenchOptions): Promise<ReplayedStack> {
  const stack = await prepareStack(options);
  const replay = await startReplayingSubgraphs(
    Object.fromEntries(SUBGRAPHS.map((name) => [name, subgraphUrl(options, name)])),
  );
  const replayContext = {
    ...stack.context,
    supergraphFile: writeSupergraph(options, replay.urls, 'supergraph-replay.graphql'),
  };
  return { ...stack, replayContext, replay };
}

export interface Recorded {
  token: string;
  /** Per query, per gateway name: the answer the load generator expects of every response. */
  expected: Map<QueryId, Map<string, string>>;
}

/** Step 2 and 3: the same data from every gateway, every subgraph answer recorded, then the real subgraphs stopped. */
export async function recordAndStopSubgraphs(
  stack: ReplayedStack,
  gateways: NamedGateway[],
  queries: QueryId[],
): Promise<Recorded> {
  const token = await logInCustomer(gateways[0]!.url);
  await prepareVariables(
    queries.map((id) => QUERIES[id]),
    gateways[0]!.url,
    token,
  );
  const expected = new Map<QueryId, Map<string, string>>();
  for (const queryId of queries) expected.set(queryId, await verifySameData(QUERIES[queryId], gateways, token));
  await stack.replay.freeze();
  say(`recorded ${stack.replay.recorded()} subgraph answers; stopping the real subgraphs`);
  await Promise.all(Object.values(stack.subgraphs).map((p) => p.stop()));
  return { token, expected };
}

/**
 * Step 4 for one query: a warm-up, then `rounds` rounds in which every
 * gateway gets `connections` connections (and `rate` requests a
 * second, when set) at once. A failed request, a wrong answer or a fetch the
 * recording lacks stops the bench.
 */
export async function measureSideBySide(
  stack: ReplayedStack,
  gateways: NamedGateway[],
  recorded: Recorded,
  queryId: QueryId,
  load: { rounds: number; durationSeconds: number; warmupSeconds: number; connections: number; rate: number },
): Promise<Map<string, SideBySideSample[]>> {
  const expected = recorded.expected.get(queryId)!;
  const spec = (gateway: NamedGateway, durationSeconds: number) => ({
    url: gateway.url,
    body: requestBody(QUERIES[queryId]),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${recorded.token}` },
    expectBody: expected.get(gateway.name)!,
    connections: load.connections,
    durationSeconds,
    ...(load.rate ? { rate: load.rate } : {}),
  });
  if (load.warmupSeconds > 0) await Promise.all(gateways.map((g) => runLoad(spec(g, load.warmupSeconds))));
  const samples = new Map<string, SideBySideSample[]>(gateways.map((g) => [g.name, []]));
  for (let round = 1; round <= load.rounds; round += 1) {
    await new Promise((r) => setTimeout(r, 500));
    const idle = await idleCpuMsPerSecond(gateways, IDLE_SECONDS);
    const measured = await measureTogether(
      gateways.map((gateway) => ({ spec: spec(gateway, load.durationSeconds), gatewayPid: gateway.process.pid })),
      round,
    );
    for (const [index, gateway] of gateways.entries()) {
      const sample = measured[index]!;
      const misses = stack.replay.misses();
      if (sample.failed || sample.mismatches || misses)
        throw new Error(
          `(${queryId}) ${gateway.name}: ${sample.failed} failed, ${sample.mismatches} wrong answers, ${misses} subgraph fetches not in the recording${misses ? ` (${stack.replay.missed().join(' | ')})` : ''}`,
        );
      const idleMs = idle[index]! * load.durationSeconds;
      const busy = {
        ...sample,
        idleCpuMsPerSecond: idle[index]!,
        busyCpuMsPerRequest: (sample.gatewayCpuMs - idleMs) / sample.requests,
      };
      samples.get(gateway.name)!.push(busy);
      say(
        `round ${round}/${load.rounds} (${queryId}) ${gateway.name.padEnd(34)} ${sample.rps.toFixed(0).padStart(6)} req/s  ` +
          `p99 ${sample.p99Ms.toFixed(1).padStart(6)} ms  CPU ${sample.cpuMsPerRequest.toFixed(3)} ms/req ` +
          `(${busy.busyCpuMsPerRequest.toFixed(3)} without the ${idle[index]!.toFixed(0)} ms/s it burns idle)`,
      );
    }
  }
  return samples;
}

/**
 * A sample with the gateway's idle CPU taken out. A gateway burns CPU with no
 * request at all (timers, health checks, Kafka heartbeats, metrics): at the
 * moderate rates these benches offer, that would be charged to the few
 * requests of each second and blur what one request costs. `idle` is
 * measured just before each round, side by side, with no load.
 */
export interface SideBySideSample extends Sample {
  idleCpuMsPerSecond: number;
  /** (CPU over the round − idle CPU over as long) ÷ requests: what the requests themselves cost. */
  busyCpuMsPerRequest: number;
}

const IDLE_SECONDS = 3;

async function idleCpuMsPerSecond(gateways: NamedGateway[], seconds: number): Promise<number[]> {
  const before = gateways.map((g) => treeCpuMs(g.process.pid));
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  return gateways.map((g, i) => (treeCpuMs(g.process.pid) - before[i]!) / elapsed);
}

/** `value` as a signed percentage change: +4.2%. */
export const percent = (change: number) => `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
