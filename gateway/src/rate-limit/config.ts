import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, env } from '@storefront/platform/config';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { RootFieldRoutes } from './routes.ts';

/**
 * The rate-limit file (gateway/rate-limits.yaml, or RATE_LIMITS_CONFIG):
 * token buckets per route (the subgraph owning an operation's root fields)
 * and per root field. Read and checked once at start, against the
 * supergraph too: a route must name a subgraph, a field a root field, an
 * `arg:` an argument of that field. Every problem names its key.
 */
export const DEFAULT_RATE_LIMITS_FILE = fileURLToPath(new URL('../../rate-limits.yaml', import.meta.url));

/** Rate-limit settings of the gateway (spread into `gatewayConfigSchema`). */
export const rateLimitEnv = {
  RATE_LIMITS_CONFIG: z
    .string()
    .optional()
    .describe(
      'The rate-limit file (YAML or JSON): token buckets per subgraph route and per root field. Unset: gateway/rate-limits.yaml.',
    ),
  /**
   * Reverse proxies in front of the gateway that append to X-Forwarded-For.
   * 0 (the default) ignores the header: a client could write anything there.
   */
  TRUST_PROXY_HOPS: env
    .int(0)
    .describe(
      'Reverse proxies in front of the gateway that append to X-Forwarded-For; the client address is read that many hops from the right. 0 ignores the header (a client could write anything there).',
    ),
};

/** What a bucket is keyed by: the caller (user id, else IP), the client IP, or a field argument's value. */
export type KeyPart = { kind: 'client' } | { kind: 'ip' } | { kind: 'arg'; name: string };

export interface LimitRule {
  /** Requests per window; also the burst a full bucket allows. */
  limit: number;
  windowMs: number;
  by: KeyPart[];
  /** Where it came from in the file, for messages and logs: `routes.orders`, `fields["Mutation.logIn"][0]`. */
  label: string;
}

export interface RateLimitConfig {
  enabled: boolean;
  /** Route name (subgraph) → its rule; subgraphs not listed use `defaultRoute`. */
  routes: Map<string, LimitRule>;
  defaultRoute: LimitRule;
  /** `Type.field` → its rules (all apply). */
  fields: Map<string, LimitRule[]>;
}

const WINDOW = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

const windowSchema = z.union(
  [
    z
      .number()
      .positive('must be positive')
      .transform((seconds) => seconds * 1000),
    z
      .string()
      .regex(WINDOW, 'must be a duration like "30s", "1m" or "1h" (or a number of seconds)')
      .transform((text) => {
        const [, amount, unit] = WINDOW.exec(text)!;
        return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
      }),
  ],
  { error: 'must be a duration like "30s", "1m" or "1h" (or a number of seconds)' },
);

const keyPartSchema = z
  .string()
  .regex(/^(client|ip|arg:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be "client", "ip" or "arg:<argument name>"')
  .transform((part): KeyPart =>
    part.startsWith('arg:') ? { kind: 'arg', name: part.slice(4) } : { kind: part as 'client' | 'ip' },
  );

const ruleSchema = z.strictObject({
  limit: z.number({ error: 'must be a number' }).int('must be a whole number').positive('must be at least 1'),
  window: windowSchema,
  by: z
    .array(keyPartSchema)
    .min(1, 'must list at least one key part')
    .default([{ kind: 'client' }]),
});

const fileSchema = z.strictObject({
  enabled: z.boolean().default(true),
  defaultRoute: ruleSchema.prefault({ limit: 1000, window: '1m' }),
  routes: z.record(z.string(), ruleSchema).default({}),
  fields: z.record(z.string(), z.union([ruleSchema, z.array(ruleSchema).min(1)])).default({}),
});

type RawRule = z.infer<typeof ruleSchema>;

export function loadRateLimits(path: string | undefined, routes: RootFieldRoutes): RateLimitConfig {
  const file = path ?? DEFAULT_RATE_LIMITS_FILE;
  const where = `RATE_LIMITS_CONFIG (${file})`;
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError([`${where}: cannot read: ${(error as Error).message}`]);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new ConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue).map((p) => `${where}: ${p}`)));
  const config = parsed.data;

  const problems: string[] = [];
  const rule = (raw: RawRule, label: string, fieldArgs?: string[]): LimitRule => {
    for (const part of raw.by) {
      if (part.kind === 'arg' && !fieldArgs) problems.push(`${label}.by: "arg:${part.name}" only applies to fields`);
      else if (part.kind === 'arg' && !fieldArgs!.includes(part.name)) {
        problems.push(
          `${label}.by: the field has no argument "${part.name}" (it has: ${fieldArgs!.join(', ') || 'none'})`,
        );
      }
    }
    return { limit: raw.limit, windowMs: raw.window, by: raw.by, label };
  };

  const routeRules = new Map<string, LimitRule>();
  for (const [name, raw] of Object.entries(config.routes)) {
    if (!routes.subgraphs.includes(name))
      problems.push(`routes.${name}: no such subgraph in the supergraph (it has: ${routes.subgraphs.join(', ')})`);
    routeRules.set(name, rule(raw, `routes.${name}`));
  }
  const fieldRules = new Map<string, LimitRule[]>();
  for (const [coordinate, value] of Object.entries(config.fields)) {
    const label = `fields["${coordinate}"]`;
    const args = routes.args.get(coordinate);
    if (!args) {
      problems.push(
        /^\w+\.\w+$/.test(coordinate)
          ? `${label}: no such root field in the supergraph`
          : `${label}: keys are "Type.field", e.g. "Mutation.logIn"`,
      );
      continue;
    }
    const list = Array.isArray(value) ? value : [value];
    fieldRules.set(
      coordinate,
      list.map((raw, i) => rule(raw, Array.isArray(value) ? `${label}[${i}]` : label, args)),
    );
  }
  const defaultRoute = rule(config.defaultRoute, 'defaultRoute');
  if (problems.length) throw new ConfigError(problems.map((p) => `${where}: ${p}`));
  return { enabled: config.enabled, routes: routeRules, defaultRoute, fields: fieldRules };
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown setting`);
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

function formatPath(path: PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const text = String(segment);
      if (/^[A-Za-z_]\w*$/.test(text)) return i === 0 ? text : `.${text}`;
      return `["${text}"]`;
    })
    .join('');
}
