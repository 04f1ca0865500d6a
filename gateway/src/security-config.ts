import { env } from '@storefront/platform/config';
import { z } from 'zod';

/**
 * Token, revocation and rate-limit settings of the gateway, read from its
 * environment (spread into `gatewayConfigSchema`).
 */
export const securityEnv = {
  /** Rate-limit buckets and the revocation list live here; absent: in process (embedded default). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Prepended to every Redis key, so deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('storefront:'),
  /** The rate-limit file (YAML or JSON). Default: gateway/rate-limits.yaml. */
  RATE_LIMITS_CONFIG: z.string().optional(),
  /**
   * Reverse proxies in front of the gateway that append to X-Forwarded-For.
   * 0 (the default) ignores the header: a client could write anything there.
   */
  TRUST_PROXY_HOPS: env.int(0),
  /** Where the gateway hears about ended sessions (user-events); absent: the in-process bus it is given. */
  KAFKA_BROKERS: env.list().optional(),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  /**
   * The longest access-token lifetime accepted (exp − iat), and how long a
   * revocation is remembered: a revoked token cannot outlive its revocation
   * entry. Keep ≥ the users service's ACCESS_TOKEN_TTL_SECONDS.
   */
  ACCESS_TOKEN_MAX_TTL_SECONDS: env.int(900, 30),
  /** Leeway for exp/nbf/iat between the users service's clock and the gateway's. */
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60, 'must be at most 60 (a small tolerance)')
    .default(5),
  /**
   * How long the gateway trusts its copy of the users service's key set. A
   * key removed from JWT_SIGNING_KEYS stops verifying after at most this long;
   * a new key is fetched as soon as a token signed with it arrives.
   */
  JWKS_CACHE_SECONDS: env.int(300, 1),
};
