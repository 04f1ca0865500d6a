import { kafkaEnv } from '@storefront/platform/config';
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
  ...kafkaEnv,
};

export interface BackendsConfig {
  REDIS_URL?: string | undefined;
  REDIS_KEY_PREFIX: string;
  KAFKA_BROKERS?: string[] | undefined;
  KAFKA_TOPIC_PREFIX: string;
  KAFKA_CREATE_TOPICS: boolean;
}
