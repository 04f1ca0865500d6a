import { accessTokenClaimsEnv, env } from '@storefront/platform/config';
import { z } from 'zod';

/** Access-token settings of the gateway (spread into `gatewayConfigSchema`). */
export const authEnv = {
  JWKS_URL: z
    .url()
    .optional()
    .describe(
      "Where the users service publishes the access-token keys. Unset: `/.well-known/jwks.json` next to the users service's routing URL.",
    ),
  ...accessTokenClaimsEnv,
  /**
   * The longest access-token lifetime accepted (exp − iat), and how long a
   * revocation is remembered: a revoked token cannot outlive its revocation
   * entry. Keep ≥ the users service's ACCESS_TOKEN_TTL_SECONDS.
   */
  ACCESS_TOKEN_MAX_TTL_SECONDS: env
    .int(900, 30)
    .describe(
      "Longest access-token lifetime accepted (exp − iat), and how long a revocation is remembered. Keep at or above the users service's ACCESS_TOKEN_TTL_SECONDS, or every token is refused.",
    ),
  JWT_CLOCK_TOLERANCE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(60, 'must be at most 60 (a small tolerance)')
    .default(5)
    .describe("Leeway for exp/nbf/iat between the users service's clock and the gateway's."),
  /**
   * How long the gateway trusts its copy of the users service's key set. A
   * key removed from JWT_SIGNING_KEYS stops verifying after at most this long;
   * a new key is fetched as soon as a token signed with it arrives.
   */
  JWKS_CACHE_SECONDS: env
    .int(300, 1)
    .describe(
      "How long the gateway trusts its copy of the users service's key set; a removed key stops verifying after at most this long.",
    ),
};

export interface AuthConfig {
  JWKS_URL?: string | undefined;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ACCESS_TOKEN_MAX_TTL_SECONDS: number;
  JWT_CLOCK_TOLERANCE_SECONDS: number;
  JWKS_CACHE_SECONDS: number;
  IDENTITY_PROVIDERS?: string | undefined;
}
