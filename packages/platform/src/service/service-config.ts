import { z } from 'zod';
import { assertOwnSubgraphSecret, env, kafkaEnv, processEnv, shutdownEnv, subgraphSecretEnv } from '../config/index.ts';
import { telemetryEnv } from '../telemetry/config.ts';

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
    .describe(
      'Directory of the embedded databases (one per service) and of the development signing key. One process at a time may use it: a second one on the same directory is refused at start, naming the process that holds it.',
    ),
  ...kafkaEnv,
  ...subgraphSecretEnv,
  MAX_BODY_BYTES: env.int(1024 * 1024, 1024).describe('Largest request body accepted (413 beyond).'),
  ...shutdownEnv,
  METRICS: env
    .bool(true)
    .describe(
      'Serve Prometheus metrics at /metrics on the service port (requests, resolvers, SQL per request, outbox, consumer lag, dead letters).',
    ),
  /** Tracing: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, … (telemetry/config.ts); off when unset. */
  ...telemetryEnv,
});

export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

/** Production must not run on the dev secret. */
export function assertProductionReady(config: ServiceConfig): void {
  assertOwnSubgraphSecret(config);
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
