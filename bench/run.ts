/**
 * `npm run bench`: our gateway (every protection on; response cache off and
 * on), the stock ApolloServer + ApolloGateway and Hive Gateway, side by side
 * on one machine, on the same subgraphs and supergraph SDL, in alternating
 * rounds. Writes bench/RESULTS.md and bench/results.json.
 *
 *   npm run bench                                  # defaults: 3 rounds × 10 s, 50 connections
 *   npm run bench -- --duration=2 --rounds=1       # a smoke run
 *   npm run bench -- --profile                     # one round, with a CPU profile of our gateway
 *   npm run bench -- --mix                         # the realistic open-loop mix (bench/mix/run.ts)
 *   npm run bench -- --subscriptions               # 10,000 subscriptions in one gateway (bench/subscriptions/run.ts)
 *
 * Settings: bench/options.ts (BENCH_* variables or flags). Everything it
 * starts (PostgreSQL, Redis, Kafka, subgraphs, gateways) is stopped at the end,
 * also on failure or Ctrl-C. Logs: <BENCH_SERVICES_DIR>.work/logs.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GATEWAY_LABELS, oursEnv, PROFILED, startGateway, type RunningGatewayProcess } from './gateways.ts';
import { measure, runLoad, type Sample } from './measure.ts';
import { type BenchOptions, type GatewayId, type QueryId } from './options.ts';
import { summarizeProfile } from './profile.ts';
import { prepareVariables, QUERIES, requestBody, verifySameData } from './queries.ts';
import { describeCommit, describeMachine, isSmoke, writeResults, type BenchResults } from './report.ts';
import { logInCustomer } from './seed.ts';
import { ROOT, SUBGRAPHS } from './services.ts';
import { runMix } from './mix/run.ts';
import { runSubscriptions } from './subscriptions/run.ts';
import { prepareStack, prepareWorkDir, runBench, say } from './stack.ts';

async function main(options: BenchOptions): Promise<void> {
  if (options.BENCH_MIX) return runMix(options, prepareWorkDir(options).logDir);
  if (options.BENCH_SUBSCRIPTIONS) return runSubscriptions(options, prepareWorkDir(options).logDir);
  const { context, subgraphs, runtimeNote, profileDir } = await prepareStack(options);
  const { backends, supergraphFile } = context;
  const subgraphPids = Object.values(subgraphs).map((p) => p.pid);

  const gateways: RunningGatewayProcess[] = [];
  for (const id of options.BENCH_GATEWAYS) {
    say(`starting ${GATEWAY_LABELS[id]}…`);
    gateways.push(await startGateway(id, context));
  }
  const token = await logInCustomer(gateways[0]!.url);
  const ours = gateways.find((g) => g.id.startsWith('ours'));
  const metricsProbe = ours
    ? await fetch(new URL('/metrics', ours.url)).then(
        (res) => `GET /metrics answered ${res.status}`,
        (error: Error) => `GET /metrics failed: ${error.message}`,
      )
    : 'not measured';
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

  const queries = options.BENCH_QUERIES.map((id) => QUERIES[id]);
  await prepareVariables(queries, gateways[0]!.url, token);
  const expected = new Map<QueryId, Map<string, string>>();
  for (const query of queries) {
    expected.set(query.id, await verifySameData(query, gateways, token));
    say(`query (${query.id}): every gateway returns the same data`);
  }
  const load = (gateway: RunningGatewayProcess, queryId: QueryId, durationSeconds: number) => ({
    url: gateway.url,
    body: requestBody(QUERIES[queryId]),
    headers,
    expectBody: expected.get(queryId)!.get(gateway.id)!,
    connections: options.BENCH_CONNECTIONS,
    durationSeconds,
  });

  if (options.BENCH_WARMUP_SECONDS > 0) {
    say(`warm-up: ${options.BENCH_WARMUP_SECONDS}s per gateway per query`);
    for (const gateway of gateways)
      for (const query of queries) await runLoad(load(gateway, query.id, options.BENCH_WARMUP_SECONDS));
  }

  const samples: BenchResults['samples'] = {};
  for (let round = 1; round <= options.BENCH_ROUNDS; round += 1) {
    // Each round starts with the next gateway, so no gateway always runs right after the same one.
    const shift = (round - 1) % gateways.length;
    const order = [...gateways.slice(shift), ...gateways.slice(0, shift)];
    for (const query of queries) {
      for (const gateway of order) {
        await new Promise((r) => setTimeout(r, 500)); // let the previous run's sockets close
        const sample = await measure(load(gateway, query.id, options.BENCH_DURATION_SECONDS), round, {
          gateway: gateway.process.pid,
          subgraphs: subgraphPids,
        });
        ((samples[query.id] ??= {})[gateway.id] ??= []).push(sample);
        say(describeSample(round, options.BENCH_ROUNDS, query.id, gateway.id, sample));
      }
    }
  }

  // Our gateway writes its CPU profile when it exits.
  for (const gateway of gateways) await gateway.process.stop();
  const profiles: BenchResults['profiles'] = {};
  for (const id of options.BENCH_PROFILE ? PROFILED : []) {
    const profile = existsSync(join(profileDir, id)) ? summarizeProfile(join(profileDir, id), ROOT) : undefined;
    if (!profile) continue;
    profiles[id as GatewayId] = profile;
    say(`profile of ${GATEWAY_LABELS[id as GatewayId]} (${profile.file}), top functions by self time:`);
    for (const f of profile.functions.slice(0, 15))
      say(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
  // The subgraphs' profiles: where a request that reaches them costs (they write them when they stop).
  const subgraphProfiles: BenchResults['subgraphProfiles'] = {};
  if (options.BENCH_PROFILE) {
    await Promise.all(Object.values(subgraphs).map((p) => p.stop()));
    for (const name of SUBGRAPHS) {
      const dir = join(profileDir, 'subgraphs', name);
      const profile = existsSync(dir) ? summarizeProfile(dir, ROOT) : undefined;
      if (!profile) continue;
      subgraphProfiles[name] = profile;
      say(
        `profile of the ${name} subgraph: ${profile.packages
          .slice(0, 6)
          .map((p) => `${p.name} ${(p.share * 100).toFixed(0)}%`)
          .join(', ')}`,
      );
    }
  }

  const settings = oursEnv(options, backends, supergraphFile, 'ours-off');
  const results: BenchResults = {
    smoke: isSmoke(options),
    date: new Date().toISOString(),
    machine: describeMachine(),
    commit: describeCommit(ROOT),
    settings: {
      BENCH_DURATION_SECONDS: options.BENCH_DURATION_SECONDS,
      BENCH_ROUNDS: options.BENCH_ROUNDS,
      BENCH_CONNECTIONS: options.BENCH_CONNECTIONS,
      BENCH_WARMUP_SECONDS: options.BENCH_WARMUP_SECONDS,
      BENCH_PROFILE: options.BENCH_PROFILE,
    },
    runtime: runtimeNote,
    gateways: gateways.map((g) => ({ id: g.id, label: GATEWAY_LABELS[g.id], command: g.command })),
    oursSettings: Object.fromEntries(
      Object.entries(settings)
        .filter(
          ([key]) =>
            ![
              'PATH',
              'HOME',
              'TMPDIR',
              'TZ',
              'LANG',
              'SUBGRAPH_SECRET',
              'GATEWAY_PORT',
              'HOST',
              'SUPERGRAPH_SDL',
              'REDIS_KEY_PREFIX',
              'RESPONSE_CACHE',
              'ENTITY_CACHE',
            ].includes(key),
        )
        .map(([k, v]) => [k, k === 'RATE_LIMITS_CONFIG' ? v.replace(ROOT, '') : v]),
    ),
    metricsProbe,
    samples,
    profiles,
    subgraphProfiles,
  };
  const outputDir = resolve(ROOT, options.BENCH_OUTPUT_DIR);
  mkdirSync(outputDir, { recursive: true });
  say(`wrote ${writeResults(results, outputDir)}${results.smoke ? ' (marked as a smoke run)' : ''}`);
}

function describeSample(round: number, rounds: number, query: QueryId, gateway: GatewayId, s: Sample): string {
  const problems = [s.failed ? `${s.failed} failed` : '', s.mismatches ? `${s.mismatches} other body` : '']
    .filter(Boolean)
    .join(', ');
  return (
    `round ${round}/${rounds} (${query}) ${GATEWAY_LABELS[gateway].padEnd(28)} ${s.rps.toFixed(0).padStart(6)} req/s  ` +
    `p50 ${s.p50Ms.toFixed(1)} ms  p99 ${s.p99Ms.toFixed(1)} ms  CPU ${s.cpuMsPerRequest.toFixed(3)} ms/req  RSS ${s.rssMb.toFixed(0)} MB` +
    (problems ? `  (${problems})` : '')
  );
}

await runBench('npm run bench', main);
