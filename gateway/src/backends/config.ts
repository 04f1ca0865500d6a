import { env } from '@storefront/platform/config';
import { z } from 'zod';

/** Where the gateway keeps shared state and hears events (spread into `gatewayConfigSchema`). */
export const backendsEnv = {
  /** Rate-limit buckets, revocations and cached entries live here; absent: in process (embedded default). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prepended to every Redis key, so deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('storefront:'),
  /** Where the gateway hears about ended sessions and catalog changes; absent: the in-process bus it is given. */
  KAFKA_BROKERS: env.list().optional(),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /** Create missing topics; off where topics are managed outside the application (a missing one stops the start). */
  KAFKA_CREATE_TOPICS: env.bool(true),
};

export interface BackendsConfig {
  REDIS_URL?: string | undefined;
  REDIS_KEY_PREFIX: string;
  KAFKA_BROKERS?: string[] | undefined;
  KAFKA_TOPIC_PREFIX: string;
  KAFKA_CREATE_TOPICS: boolean;
}
