import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { env } from '@storefront/platform/config';
import { MAX_WEIGHT, type SubgraphInstance } from './instances.ts';

/**
 * Traffic shaping per subgraph (gateway/traffic.yaml, TRAFFIC_SHAPING_CONFIG),
 * in the shape of Apollo Router's `traffic_shaping`: an `all` section and
 * `subgraphs.<name>` overrides, merged key by key over the defaults below.
 * Validated at start: a bad file stops the gateway with a message naming the
 * key (`TRAFFIC_SHAPING_CONFIG: <path>: subgraphs.products.timeouts.request_ms: …`).
 * A subgraph section may also list the subgraph's `instances` (URL and
 * weight), over SUBGRAPH_URL_<NAME>: the routing a blue-green or canary
 * rollout changes. The file is read again every
 * TRAFFIC_SHAPING_POLL_INTERVAL_MS; a changed file is checked the same way
 * and applied without a restart, a bad one refused (transport/index.ts).
 */
export const trafficShapingEnv = {
  TRAFFIC_SHAPING_CONFIG: z
    .string()
    .default(fileURLToPath(new URL('../../traffic.yaml', import.meta.url)))
    .describe(
      'YAML file of timeouts, retries, circuit breakers, pool sizes and health checks, for all subgraphs and per subgraph, and of the instances of a subgraph with their weights (docs/traffic-shaping.md, docs/rollouts.md). Reloaded when it changes. The former SUBGRAPH_TIMEOUT_MS, SUBGRAPH_CONNECT_TIMEOUT_MS, SUBGRAPH_MAX_CONNECTIONS and SUBGRAPH_HEALTH_INTERVAL_MS are refused, naming the key that replaced each.',
    ),
  TRAFFIC_SHAPING_POLL_INTERVAL_MS: env
    .int(5_000)
    .pipe(z.number().max(3_600_000, 'must be at most an hour (3600000)'))
    .describe(
      'How often TRAFFIC_SHAPING_CONFIG is read again, in milliseconds: a changed, valid file is applied without a restart (a bad one is refused and the running settings stay); 0: read once at start.',
    ),
};

/** The settings one subgraph's transport runs with (every key resolved). */
export interface SubgraphShaping {
  timeouts: { connect_ms: number; request_ms: number; total_ms: number };
  pool: { max_connections: number };
  health_check: { interval_ms: number; unhealthy_threshold: number; healthy_threshold: number };
  retry: {
    max_retries: number;
    backoff: { initial_ms: number; max_ms: number };
    budget: { ratio: number; min_per_second: number; window_ms: number };
  };
  circuit_breaker: {
    enabled: boolean;
    failure_ratio: number;
    window_ms: number;
    minimum_calls: number;
    open_ms: number;
    half_open_probes: number;
  };
  /** `subgraphs.<name>.instances`: where the subgraph runs, over SUBGRAPH_URL_<NAME> and the supergraph's URL. */
  instances?: SubgraphInstance[];
}

/** What a key left out of the file means; docs/traffic-shaping.md lists the same values. */
export const SHAPING_DEFAULTS: SubgraphShaping = {
  timeouts: { connect_ms: 2_000, request_ms: 5_000, total_ms: 10_000 },
  pool: { max_connections: 64 },
  health_check: { interval_ms: 5_000, unhealthy_threshold: 3, healthy_threshold: 1 },
  retry: {
    max_retries: 2,
    backoff: { initial_ms: 25, max_ms: 500 },
    budget: { ratio: 0.2, min_per_second: 5, window_ms: 10_000 },
  },
  circuit_breaker: {
    enabled: true,
    failure_ratio: 0.5,
    window_ms: 10_000,
    minimum_calls: 20,
    open_ms: 3_000,
    half_open_probes: 3,
  },
};

/** A time in milliseconds: a whole number, at least `min`, at most a day. */
const ms = (min: number) =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(min, `must be at least ${min}`)
    .max(86_400_000, 'must be at most a day (86400000)');
/** A number of health checks in a row. */
const checks = z
  .number({ error: 'must be a whole number of checks' })
  .int('must be a whole number of checks')
  .min(1, 'must be at least 1')
  .max(100, 'must be at most 100');
const ratio = z.number({ error: 'must be a number' }).min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1');

// Every key optional: a section in the file names only what it changes.
const settingsSchema = z
  .object({
    timeouts: z
      .object({ connect_ms: ms(1), request_ms: ms(1), total_ms: ms(1) })
      .partial()
      .strict(),
    pool: z
      .object({ max_connections: z.number().int().min(1).max(10_000) })
      .partial()
      .strict(),
    health_check: z
      .object({ interval_ms: ms(50), unhealthy_threshold: checks, healthy_threshold: checks })
      .partial()
      .strict(),
    retry: z
      .object({
        max_retries: z.number().int().min(0).max(10),
        backoff: z
          .object({ initial_ms: ms(0), max_ms: ms(0) })
          .partial()
          .strict(),
        budget: z
          .object({ ratio, min_per_second: z.number().min(0).max(10_000), window_ms: ms(1_000) })
          .partial()
          .strict(),
      })
      .partial()
      .strict(),
    circuit_breaker: z
      .object({
        enabled: z.boolean(),
        failure_ratio: z.number().gt(0, 'must be above 0').max(1, 'must be at most 1'),
        window_ms: ms(100),
        minimum_calls: z.number().int().min(1).max(100_000),
        open_ms: ms(1),
        half_open_probes: z.number().int().min(1).max(1_000),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

const instanceSchema = z
  .object({
    url: z
      .string({ error: 'must be an http:// or https:// URL' })
      .refine(isHttpUrl, 'must be an http:// or https:// URL'),
    weight: z
      .number({ error: `must be a whole number from 1 to ${MAX_WEIGHT}` })
      .int(`must be a whole number from 1 to ${MAX_WEIGHT}`)
      .min(1, `must be a whole number from 1 to ${MAX_WEIGHT}`)
      .max(MAX_WEIGHT, `must be a whole number from 1 to ${MAX_WEIGHT}`)
      .default(1),
  })
  .strict();

// Only a subgraph's own section may say where it runs: `all.instances` would mean nothing.
const subgraphSchema = z
  .object({
    ...settingsSchema.shape,
    instances: z
      .array(instanceSchema)
      .min(1, 'must list at least one instance (remove the key to use SUBGRAPH_URL_<NAME>)'),
  })
  .partial()
  .strict();

const fileSchema = z
  .object({
    all: settingsSchema.default({}),
    // `null` is what YAML makes of `subgraphs:` with nothing under it.
    subgraphs: z.record(z.string(), subgraphSchema).nullable().default({}),
  })
  .strict();

type Settings = z.infer<typeof subgraphSchema>;

/** The traffic shaping of every subgraph, by name; `all` for a subgraph the file was not checked against (one a reloaded supergraph added). */
export interface TrafficShaping extends ReadonlyMap<string, SubgraphShaping> {
  readonly all: SubgraphShaping;
}

/** Reads and checks the file; `subgraphs` are the supergraph's (an override for any other is refused). */
export function loadTrafficShaping(path: string, subgraphs: readonly string[]): TrafficShaping {
  return readTrafficShapingFile(path, subgraphs).shaping;
}

/** The file as read (its text, to notice a change) and its settings. */
export interface TrafficShapingFile {
  path: string;
  text: string;
  shaping: TrafficShaping;
}

export function readTrafficShapingFile(path: string, subgraphs: readonly string[]): TrafficShapingFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`TRAFFIC_SHAPING_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  return { path, text, shaping: parseTrafficShaping(text, path, subgraphs) };
}

/** Checks a version of the file (`path` only names it in messages); throws an Error naming the key. */
export function parseTrafficShaping(text: string, path: string, subgraphs: readonly string[]): TrafficShaping {
  const fail = (problem: string): never => {
    throw new Error(`TRAFFIC_SHAPING_CONFIG: ${path}: ${problem}`);
  };
  let document: unknown;
  try {
    document = parse(text) ?? {};
  } catch (error) {
    return fail(`not YAML: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) fail(describeIssue(parsed.error.issues[0]!));
  const file = parsed.data!;
  const overrides = file.subgraphs ?? {};
  for (const [name, section] of Object.entries(overrides)) {
    if (!subgraphs.includes(name)) fail(`subgraphs.${name}: no such subgraph (${subgraphs.join(', ')})`);
    const seen = new Set<string>();
    for (const [index, instance] of (section.instances ?? []).entries()) {
      const href = new URL(instance.url).href;
      if (seen.has(href)) fail(`subgraphs.${name}.instances.${index}.url: "${instance.url}" is listed twice`);
      seen.add(href);
    }
  }
  const all = merge(SHAPING_DEFAULTS, file.all);
  checkConsistent(all, 'all', fail);
  const bySubgraph = new Map(
    subgraphs.map((name) => {
      const shaping = merge(all, overrides[name] ?? {});
      checkConsistent(shaping, `subgraphs.${name}`, fail);
      return [name, shaping];
    }),
  );
  return Object.assign(bySubgraph, { all });
}

/** The file's values over `base`, section by section (a nested object is merged, not replaced). */
function merge(base: SubgraphShaping, over: Settings): SubgraphShaping {
  const deep = (a: Record<string, unknown>, b: Record<string, unknown> | undefined): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b ?? {})) {
      if (value === undefined) continue;
      // A list (instances) replaces; a section merges key by key.
      out[key] =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? deep(a[key] as Record<string, unknown>, value as never)
          : value;
    }
    return out;
  };
  return deep(base as never, over) as unknown as SubgraphShaping;
}

/** Limits between keys, checked after merging (an override may break one that `all` kept). */
function checkConsistent(shaping: SubgraphShaping, where: string, fail: (problem: string) => never): void {
  const { timeouts, retry } = shaping;
  if (timeouts.request_ms > timeouts.total_ms)
    fail(
      `${where}.timeouts.request_ms: ${timeouts.request_ms} is longer than timeouts.total_ms (${timeouts.total_ms}), which bounds every attempt`,
    );
  if (timeouts.connect_ms > timeouts.request_ms)
    fail(
      `${where}.timeouts.connect_ms: ${timeouts.connect_ms} is longer than timeouts.request_ms (${timeouts.request_ms}), which includes connecting`,
    );
  if (retry.backoff.initial_ms > retry.backoff.max_ms)
    fail(
      `${where}.retry.backoff.initial_ms: ${retry.backoff.initial_ms} is more than retry.backoff.max_ms (${retry.backoff.max_ms})`,
    );
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The first problem, as `<key path>: <what is wrong>`; an unknown key is named with its full path. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.join('.');
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: unknown key`).join('; ');
  return `${at || '(root)'}: ${issue.message}`;
}
