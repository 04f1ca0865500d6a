import { z } from 'zod';
import { isRole, type Identity } from '../auth/identity.ts';
import { env } from '../config/index.ts';

/**
 * Benchmark-only: the subgraph also accepts UNSIGNED requests from a loopback
 * address and treats them as this fixed identity (`identity: null` = anonymous).
 * Peer gateways in `npm run bench` (stock Apollo, Hive) neither sign requests
 * nor forward the caller's token; signed requests are still verified as usual.
 */
export interface UnsignedLoopback {
  identity: Identity | null;
}

const UNSIGNED_LOOPBACK_FORMAT = 'must be "anonymous" or JSON like {"userId":"…","role":"CUSTOMER"}';

const unsignedLoopbackIdentity = () =>
  z.string().transform((text, ctx): UnsignedLoopback => {
    if (text.trim() === 'anonymous') return { identity: null };
    try {
      const value = JSON.parse(text) as { userId?: unknown; role?: unknown };
      if (typeof value?.userId === 'string' && value.userId && isRole(value.role)) {
        return { identity: { userId: value.userId, role: value.role } };
      }
    } catch {
      // falls through to the same message as a well-formed but wrong value
    }
    ctx.addIssue({ code: 'custom', message: UNSIGNED_LOOPBACK_FORMAT });
    return z.NEVER;
  });

/** Settings every subgraph shares; each service extends this object with its own. */
export const serviceConfigSchema = z.object({
  NODE_ENV: env
    .nodeEnv()
    .describe(
      '`production` turns on the production checks (no development secrets or keys) and hides development aids.',
    ),
  LOG_LEVEL: env
    .logLevel()
    .describe('Lowest level written to the log (pino): fatal, error, warn, info, debug, trace or silent.'),
  HOST: z.string().default('127.0.0.1').describe('Address the service listens on.'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional()
    .describe(
      'PostgreSQL URL (postgresql://…); the service keeps its tables in its own schema. Unset: the embedded PGlite database in DATA_DIR.',
    ),
  DATABASE_POOL_SIZE: env.int(10, 1).describe('PostgreSQL connections the service keeps open at most.'),
  DATA_DIR: z
    .string()
    .default('.data')
    .describe('Directory of the embedded databases (one per service) and of the development signing key.'),
  KAFKA_BROKERS: env
    .list()
    .optional()
    .describe(
      'Comma-separated Kafka brokers (host:port). Unset: the in-process event bus (embedded single-process mode only).',
    ),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .default('')
    .describe('Prepended to every Kafka topic name, so several deployments can share one cluster.'),
  /**
   * Create missing topics (and let publishing create them). Off where topics are managed outside the
   * application: a missing topic then stops the start, naming it.
   */
  KAFKA_CREATE_TOPICS: env
    .bool(true)
    .describe(
      'Create missing topics; `false` where topics are managed outside the application (a missing topic then stops the start, naming it).',
    ),
  SUBGRAPH_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters')
    .default('dev-only-subgraph-secret-change-me')
    .describe(
      'Shared with the gateway: the HMAC key every gateway→subgraph request is signed with. The development default is public and refused in production.',
    ),
  MAX_BODY_BYTES: env.int(1024 * 1024, 1024).describe('Largest request body accepted (413 beyond).'),
  SHUTDOWN_DELAY_MS: env
    .int(0)
    .describe('On SIGTERM: how long to keep serving while /readyz says 503, so load balancers stop sending first.'),
  SHUTDOWN_GRACE_MS: env
    .int(10_000)
    .describe('On SIGTERM, after the delay: how long requests in flight may take before their connections are closed.'),
  BENCH_UNSIGNED_LOOPBACK_IDENTITY: unsignedLoopbackIdentity()
    .optional()
    .describe(
      'Benchmark only: accept unsigned requests from loopback as this identity (`anonymous` or JSON like {"userId":"…","role":"CUSTOMER"}); refused in production.',
    ),
});

export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

export const DEV_SUBGRAPH_SECRET = 'dev-only-subgraph-secret-change-me';

/** Production must not run on the dev secret, nor accept unsigned calls (the bench-only mode). */
export function assertProductionReady(config: ServiceConfig): void {
  if (config.NODE_ENV === 'production' && config.SUBGRAPH_SECRET === DEV_SUBGRAPH_SECRET) {
    throw new Error('SUBGRAPH_SECRET: set a secret of your own in production (the development default is public)');
  }
  if (config.NODE_ENV === 'production' && config.BENCH_UNSIGNED_LOOPBACK_IDENTITY) {
    throw new Error(UNSIGNED_LOOPBACK_IN_PRODUCTION);
  }
}

/**
 * A service started on its own (no bus handed to it by an embedding process) must share Kafka with the
 * others when its data is in PostgreSQL: that is the separate-processes mode, and an in-process bus of its
 * own would keep every event inside the process that wrote it.
 */
export function assertSharedBus(config: ServiceConfig): void {
  if (config.DATABASE_URL && !config.KAFKA_BROKERS) throw new Error(SEPARATE_PROCESSES_NEED_KAFKA);
}

export const SEPARATE_PROCESSES_NEED_KAFKA =
  'KAFKA_BROKERS: required when DATABASE_URL is set. With DATABASE_URL the services run as separate processes, ' +
  'which exchange events over Kafka only (unset DATABASE_URL for the embedded single-process mode)';

export const UNSIGNED_LOOPBACK_IN_PRODUCTION =
  "BENCH_UNSIGNED_LOOPBACK_IDENTITY: refused in production (it lets any local process call this service without the gateway's signature); unset it";
