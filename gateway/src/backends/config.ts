import { env } from '@storefront/platform/config';
import { z } from 'zod';

/** Where the gateway keeps shared state and hears events (spread into `gatewayConfigSchema`). */
export const backendsEnv = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .describe(
      'Redis (redis:// or rediss://) for rate-limit buckets, revocations, the response cache and APQ. Unset: an in-process store.',
    ),
  REDIS_KEY_PREFIX: z
    .string()
    .default('storefront:')
    .describe('Prepended to every Redis key, so deployments can share one Redis.'),
  KAFKA_BROKERS: env
    .list()
    .optional()
    .describe(
      'Comma-separated Kafka brokers, where the gateway hears about ended sessions and catalog changes. Unset: the in-process bus it is given (embedded mode).',
    ),
  KAFKA_TOPIC_PREFIX: z.string().default('').describe('Prepended to every Kafka topic name, as for the subgraphs.'),
  KAFKA_CREATE_TOPICS: env
    .bool(true)
    .describe(
      'Create missing topics; off where topics are managed outside the application (a missing one stops the start).',
    ),
};

export interface BackendsConfig {
  REDIS_URL?: string | undefined;
  REDIS_KEY_PREFIX: string;
  KAFKA_BROKERS?: string[] | undefined;
  KAFKA_TOPIC_PREFIX: string;
  KAFKA_CREATE_TOPICS: boolean;
}
