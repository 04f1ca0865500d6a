import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
// The gateway's own composition (what it does at start with SUPERGRAPH_CONFIG); only that module, not the gateway.
import { composeFromConfig, enforcedHere } from '@storefront/gateway';
import { GATEWAY_IDS, type BenchOptions, type GatewayId } from './options.ts';
import { baseEnv, startProcess, waitUntil, type Managed } from './processes.ts';
import {
  BENCH_SECRET,
  nodeArgs,
  ROOT,
  SUBGRAPHS,
  subgraphUrl,
  TOKEN_TTL_SECONDS,
  workDir,
  type Backends,
  type Runtime,
} from './services.ts';

/**
 * The gateways under test, each its own process on the same supergraph SDL and
 * the same running subgraphs: ours (every protection on) with the response
 * cache off and on, stock ApolloServer + ApolloGateway, and Hive Gateway.
 *
 * "Cache" is both caches of public data: the response cache and the entity
 * cache (RESPONSE_CACHE, ENTITY_CACHE), off or on together.
 *
 * All the load is one customer repeating one query, so ours shares much of it
 * (identical in-flight operations and subgraph fetches of the same caller run
 * once: OPERATION_DEDUP, SUBGRAPH_DEDUP); Hive shares only subgraph fetches, stock nothing. `ours-noshare`
 * turns that sharing off, to show what each request costs on its own.
 */
const CACHES_OFF = { RESPONSE_CACHE: 'false', ENTITY_CACHE: 'false' };
const OURS_VARIANTS: Record<'ours-off' | 'ours-on' | 'ours-noshare' | 'seeding', Record<string, string>> = {
  'ours-off': CACHES_OFF,
  'ours-on': { RESPONSE_CACHE: 'true', ENTITY_CACHE: 'true' },
  'ours-noshare': { ...CACHES_OFF, OPERATION_DEDUP: 'false', SUBGRAPH_DEDUP: 'false' },
  seeding: CACHES_OFF,
};
const isOurs = (id: GatewayId | 'seeding'): id is keyof typeof OURS_VARIANTS => id in OURS_VARIANTS;
/** The variants `--profile` profiles: where the per-request cost of our gateway shows. */
export const PROFILED: (GatewayId | 'seeding')[] = ['ours-off', 'ours-on', 'ours-noshare'];
export const GATEWAY_LABELS: Record<GatewayId, string> = {
  'ours-off': 'ours (cache off)',
  'ours-on': 'ours (cache on)',
  'ours-noshare': 'ours (cache off, no sharing)',
  stock: 'stock Apollo',
  hive: 'Hive Gateway',
};

export interface RunningGatewayProcess {
  id: GatewayId;
  url: string;
  process: Managed;
  /** Which command runs it, for the report. */
  command: string;
}

/**
 * Composes supergraph.yaml with the bench's routing URLs (the gateway's own composition code) into one SDL file:
 * the real subgraphs, or other `urls` (bench/replay.ts) written to `fileName`.
 */
export function writeSupergraph(
  options: BenchOptions,
  urls: Record<string, string> = Object.fromEntries(SUBGRAPHS.map((name) => [name, subgraphUrl(options, name)])),
  fileName = 'supergraph.graphql',
): string {
  const file = join(workDir(options), fileName);
  const { sdl, subgraphs } = composeFromConfig(join(ROOT, 'supergraph.yaml'), urls);
  for (const { name } of subgraphs) {
    if (!sdl.includes(`url: "${urls[name]}"`)) {
      throw new Error(`the composed supergraph does not route ${name} to the bench's subgraph`);
    }
  }
  // Stock ApolloGateway refuses a supergraph linking @authenticated/@requiresScopes `for: SECURITY`, which it does
  // not enforce: every gateway gets them without that purpose. Ours enforces them either way; the services' own
  // rules stand behind all three.
  writeFileSync(file, enforcedHere(sdl));
  return file;
}

export const gatewayPort = (options: BenchOptions, id: GatewayId | 'seeding') =>
  options.BENCH_PORT_BASE + (id === 'seeding' ? 9 : 10 + GATEWAY_IDS.indexOf(id));

/** bench/ours.env: the protection settings of our gateway, editable without touching code. */
function oursEnvFile(): Record<string, string> {
  return parseEnv(readFileSync(join(ROOT, 'bench/ours.env'), 'utf8')) as Record<string, string>;
}

export function oursEnv(
  options: BenchOptions,
  backends: Backends,
  supergraphFile: string,
  id: keyof typeof OURS_VARIANTS,
): Record<string, string> {
  return {
    ...baseEnv(),
    ...oursEnvFile(),
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(gatewayPort(options, id)),
    SUPERGRAPH_SDL: supergraphFile,
    SUBGRAPH_SECRET: BENCH_SECRET,
    REDIS_URL: backends.REDIS_URL,
    // Each gateway its own keys: one's cache or buckets never help another.
    REDIS_KEY_PREFIX: `bench-${id}:`,
    KAFKA_BROKERS: backends.KAFKA_BROKERS,
    RATE_LIMITS_CONFIG: join(ROOT, 'bench/rate-limits.yaml'),
    ACCESS_TOKEN_MAX_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
    ...OURS_VARIANTS[id],
  };
}

export interface GatewayContext {
  options: BenchOptions;
  backends: Backends;
  runtime: Runtime;
  supergraphFile: string;
  logDir: string;
  /** Set: our gateway with the cache off (with and without sharing) runs under --cpu-prof and writes its profile to <profileDir>/<id> on exit. */
  profileDir?: string;
  /**
   * Whom the peers' signed subgraph calls act for when the client names no customer in `x-bench-customer-id`
   * (the mix names one in every request): the bench customer.
   */
  signAs?: { userId: string; role: 'CUSTOMER' };
}

export const startGateway = async (id: GatewayId, context: GatewayContext): Promise<RunningGatewayProcess> => ({
  id,
  ...(await launch(id, context)),
});

/** Our gateway for making the bench data before the measured stack starts (not measured). */
export const startSeedingGateway = (context: GatewayContext) => launch('seeding', context);

/** A variant of ours a bench mode compares (npm run bench:tracing): `id`'s settings plus `settings`, on `port`, logged as `name`. */
export interface OursVariant {
  name: string;
  port: number;
  settings: Record<string, string>;
}

export const startOursVariant = (id: keyof typeof OURS_VARIANTS, context: GatewayContext, variant: OursVariant) =>
  launch(id, context, variant);

/** A peer on `port`, logged as `name`; Hive Gateway with `configFile` (its --config-path) when one is given. */
export const startPeerVariant = (
  id: 'stock' | 'hive',
  context: GatewayContext,
  variant: { name: string; port: number; configFile?: string; configNote?: string },
) => launch(id, context, { ...variant, settings: {} });

async function launch(
  id: GatewayId | 'seeding',
  context: GatewayContext,
  variant?: OursVariant & { configFile?: string; configNote?: string },
): Promise<Omit<RunningGatewayProcess, 'id'>> {
  const { options, supergraphFile, logDir } = context;
  const port = variant?.port ?? gatewayPort(options, id);
  let command: string;
  let args: string[];
  let env: Record<string, string>;
  if (isOurs(id)) {
    const profile =
      context.profileDir && PROFILED.includes(id)
        ? ['--cpu-prof', `--cpu-prof-dir=${join(context.profileDir, id)}`]
        : [];
    args = nodeArgs(context.runtime, 'gateway/src/main.ts', profile);
    env = {
      ...oursEnv(options, context.backends, supergraphFile, id),
      ...(variant ? { ...variant.settings, GATEWAY_PORT: String(port) } : {}),
    };
    command = `node ${args.map((a) => a.replace(ROOT, '')).join(' ')} with ${Object.entries(OURS_VARIANTS[id])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`;
  } else if (id === 'stock') {
    args = [join(ROOT, 'bench/peers/stock-gateway.mjs')];
    env = { ...baseEnv(), ...peerEnv(context), SUPERGRAPH_SDL: supergraphFile, PORT: String(port) };
    command =
      'node bench/peers/stock-gateway.mjs (ApolloServer + ApolloGateway, defaults, startStandaloneServer; subgraph calls signed through buildService)';
  } else {
    // The CLI as its docs show it; --fork 1 is its default, spelled out: one process like the others.
    const configFile = variant?.configFile ?? join(ROOT, 'bench/peers/hive.config.mjs');
    args = [
      join(ROOT, 'node_modules/@graphql-hive/gateway/dist/bin.js'),
      'supergraph',
      supergraphFile,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--fork',
      '1',
      '--config-path',
      configFile,
    ];
    env = { ...baseEnv(), ...peerEnv(context) };
    command = variant?.configFile
      ? `hive-gateway supergraph <file> --fork 1 --config-path ${variant.configFile.replace(ROOT, '')} (${variant.configNote ?? 'its defaults otherwise'})`
      : 'hive-gateway supergraph <file> --fork 1 --config-path bench/peers/hive.config.mjs (defaults, plus an onFetch plugin signing subgraph calls)';
  }
  // cwd = the bench's work dir: Hive's CLI would pick up a gateway.config.ts from its cwd.
  const managed = startProcess(`gateway-${variant?.name ?? id}`, process.execPath, args, {
    env,
    logDir,
    cwd: workDir(options),
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  await waitUntil(
    managed,
    'an answer to { __typename }',
    async () => (await postGraphQL(url, '{ __typename }')).status === 200,
  );
  return { url, process: managed, command };
}

/** What a peer needs to sign its subgraph calls as our gateway does (bench/peers/sign.mjs). */
const peerEnv = (context: GatewayContext): Record<string, string> => ({
  NODE_ENV: 'production',
  SUBGRAPH_SECRET: BENCH_SECRET,
  ...(context.signAs ? { SIGN_AS: JSON.stringify(context.signAs) } : {}),
});

export interface GraphQLResponse {
  status: number;
  text: string;
  json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | undefined;
}

export async function postGraphQL(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let json: GraphQLResponse['json'];
  try {
    json = JSON.parse(text) as GraphQLResponse['json'];
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}
