import { z } from 'zod';
import { env } from '../config.ts';

/** Settings every subgraph shares; each service extends this object with its own. */
export const serviceConfigSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  LOG_LEVEL: env.logLevel(),
  HOST: z.string().default('127.0.0.1'),
  /** Absent: the embedded PGlite database in DATA_DIR. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL').optional(),
  DATABASE_POOL_SIZE: env.int(10, 1),
  DATA_DIR: z.string().default('.data'),
  /** Absent: the in-process event bus. */
  KAFKA_BROKERS: env.list().optional(),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /** Shared with the gateway; signs every gateway→subgraph request. */
  SUBGRAPH_SECRET: z.string().min(16, 'must be at least 16 characters').default('dev-only-subgraph-secret-change-me'),
  MAX_BODY_BYTES: env.int(1024 * 1024, 1024),
});

export type ServiceConfig = z.infer<typeof serviceConfigSchema>;

export const DEV_SUBGRAPH_SECRET = 'dev-only-subgraph-secret-change-me';

/** Production must not run on the dev secret. */
export function assertProductionReady(config: ServiceConfig): void {
  if (config.NODE_ENV === 'production' && config.SUBGRAPH_SECRET === DEV_SUBGRAPH_SECRET) {
    throw new Error('SUBGRAPH_SECRET: set a secret of your own in production (the development default is public)');
  }
}
