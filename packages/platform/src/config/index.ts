import { z } from 'zod';

/**
 * Reads typed configuration from the environment once, at start.
 *
 * Every service describes its settings as a zod object whose keys are the
 * environment variable names. A bad or missing value stops the start with a
 * message that names the key, instead of failing later in some resolver.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  // Empty strings mean "unset": `FOO= npm start` should fall back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return parsed.data;
}

const boolean = () =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Reusable field parsers, so every service spells its env the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  url: () => z.url(),
  bool: (fallback: boolean) => boolean().default(fallback),
  /** A boolean whose absence means "decide from other settings" (undefined), not false. */
  optionalBool: () => boolean().optional(),
  /** Comma-separated list, e.g. KAFKA_BROKERS=a:9092,b:9092. */
  list: () =>
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1)),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/**
 * Environment keys the gateway and the subgraph services both read, declared
 * once so they parse, default and read the same everywhere (each process
 * spreads the groups it needs into its own schema).
 */

/** The public development value of SUBGRAPH_SECRET; a production start refuses it. */
export const DEV_SUBGRAPH_SECRET = 'dev-only-subgraph-secret-change-me';

export const processEnv = {
  NODE_ENV: env
    .nodeEnv()
    .describe(
      '`production` turns on the production checks (no development secrets or keys) and turns off development aids (introspection, GraphiQL, field suggestions).',
    ),
  LOG_LEVEL: env
    .logLevel()
    .describe('Lowest level written to the log (pino): fatal, error, warn, info, debug, trace or silent.'),
  HOST: z.string().default('127.0.0.1').describe('Address the process listens on.'),
};

export const kafkaEnv = {
  KAFKA_BROKERS: env
    .list()
    .optional()
    .describe(
      'Comma-separated Kafka brokers (host:port). Unset: the in-process event bus (the embedded single-process mode only).',
    ),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .default('')
    .describe('Prepended to every Kafka topic name, so several deployments can share one cluster.'),
  KAFKA_CREATE_TOPICS: env
    .bool(true)
    .describe(
      'Create missing topics; `false` where topics are managed outside the application (a missing topic then stops the start, naming it).',
    ),
};

export const shutdownEnv = {
  SHUTDOWN_DELAY_MS: env
    .int(0)
    .describe('On SIGTERM: how long to keep serving while /readyz answers 503, so load balancers stop sending first.'),
  SHUTDOWN_GRACE_MS: env
    .int(10_000)
    .describe(
      'After the delay: how long requests in flight may take before their connections are closed; WebSockets are closed with 1012.',
    ),
};

export const subgraphSecretEnv = {
  SUBGRAPH_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters')
    .default(DEV_SUBGRAPH_SECRET)
    .describe(
      'HMAC key every gateway→subgraph request is signed with; the gateway and the subgraphs share it (at the gateway SUBGRAPH_SECRET_<NAME> overrides it for one subgraph). The development default is public and refused in production.',
    ),
};

/** The access tokens' issuer and audience: the users service signs them, the gateway requires them. */
export const accessTokenClaimsEnv = {
  JWT_ISSUER: z
    .string()
    .default('storefront')
    .describe('The `iss` of every access token (users signs it, the gateway requires it).'),
  JWT_AUDIENCE: z
    .string()
    .default('storefront-api')
    .describe('The `aud` of every access token (users signs it, the gateway requires it).'),
};

/** A production start on the public development secret stops, naming the variable. */
export function assertOwnSubgraphSecret(config: { NODE_ENV: string; SUBGRAPH_SECRET: string }): void {
  if (config.NODE_ENV === 'production' && config.SUBGRAPH_SECRET === DEV_SUBGRAPH_SECRET) {
    throw new Error('SUBGRAPH_SECRET: set a secret of your own in production (the development default is public)');
  }
}
