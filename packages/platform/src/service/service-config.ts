import { z } from 'zod';
import { isRole, type Identity } from '../auth/identity.ts';
import { assertOwnSubgraphSecret, env, kafkaEnv, processEnv, shutdownEnv, subgraphSecretEnv } from '../config/index.ts';
import { telemetryEnv } from '../telemetry/config.ts';

/**
 * Benchmark-only: the subgraph also accepts UNSIGNED requests from a loopback
 * address and treats them as this fixed identity (`identity: null` = anonymous).
 * Peer gateways in `npm run bench` (stock Apollo, Hive) neither sign requests
 * nor verify the caller's token; signed requests are still verified as usual.
 *
 * `customerHeader`: the realistic mix (`npm run bench -- --mix`) has many
 * customers, so one fixed identity will not do. The peers pass the header
 * `x-bench-customer-id` on, and an unsigned loopback request acts as the
 * customer it names (anonymous without it).
 */
export interface UnsignedLoopback {
  identity: Identity | null;
  customerHeader?: typeof BENCH_CUSTOMER_HEADER;
}

export const BENCH_CUSTOMER_HEADER = 'x-bench-customer-id';

const UNSIGNED_LOOPBACK_FORMAT = 'must be "anonymous", "customer-header" or JSON like {"userId":"…","role":"CUSTOMER"}';

const unsignedLoopbackIdentity = () =>
  z.string().transform((text, ctx): UnsignedLoopback => {
    if (text.trim() === 'anonymous') return { identity: null };
    if (text.trim() === 'customer-header') return { identity: null, customerHeader: BENCH_CUSTOMER_HEADER };
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
  ...processEnv,
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
  ...kafkaEnv,
  ...subgraphSecretEnv,
  MAX_BODY_BYTES: env.int(1024 * 1024, 1024).describe('Largest request body accepted (413 beyond).'),
  ...shutdownEnv,
  BENCH_UNSIGNED_LOOPBACK_IDENTITY: unsignedLoopbackIdentity()
    .optional()
    .describe(
      'Benchmark only: accept unsigned requests from loopback as this identity (`anonymous`, JSON like {"userId":"…","role":"CUSTOMER"}, or `customer-header`: the customer whose id is in the `x-bench-customer-id` header); refused in production.',
    ),
  METRICS: env
    .bool(true)
    .describe(
      'Serve Prometheus metrics at /metrics on the service port (requests, resolvers, SQL per request, outbox, consumer lag, dead letters).',
    ),
  /** Tracing: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, … (telemetry/config.ts); off when unset. */
  ...telemetryEnv,
});

export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

/** Production must not run on the dev secret, nor accept unsigned calls (the bench-only mode). */
export function assertProductionReady(config: ServiceConfig): void {
  assertOwnSubgraphSecret(config);
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
