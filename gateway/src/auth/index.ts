import type { IncomingMessage } from 'node:http';
import { audit, auditSampler, type Logger } from '@storefront/platform/logger';
import type { ConsumerState, EventBus, SupervisedConsumer } from '@storefront/platform/events';
import type { KeyValueStore } from '@storefront/platform/store';
import type { SubgraphEndpoint } from '../supergraph/index.ts';
import { createAccessTokenVerifier, type TokenCheck } from './access-token.ts';
import type { AuthConfig } from './config.ts';
import { createExternalTokens, readIdentityProviders } from './identity-providers.ts';
import { linkThroughUsersService } from './link-identity.ts';
import { consumeRevocations, createRevocationList } from './revocation.ts';

export { authEnv, type AuthConfig } from './config.ts';
export { identityProvidersEnv } from './identity-providers.ts';
export type { TokenCheck } from './access-token.ts';

/**
 * Who the caller is: the access token of each request (or socket) verified
 * against the users service's key set (jwks.ts), checked against the
 * revocation list fed from user-events (revocation.ts), kept in the shared
 * store. Refusals are audited.
 */
export interface Authentication {
  /**
   * Verifies the request's access token (or `authorization`, when it came
   * another way, e.g. a WebSocket's connectionParams); refusals are audited.
   */
  authenticate(req: IncomingMessage, authorization?: string): Promise<TokenCheck>;
  /** The revocation feed's consumer (the gateway's /readyz); undefined without an event bus. */
  revocationFeed(): ConsumerState | undefined;
  stop(): Promise<void>;
}

/** Where the users service publishes its keys: JWKS_URL, else next to the supergraph's "users" routing URL. */
export function keySetUrl(config: Pick<AuthConfig, 'JWKS_URL'>, supergraph: { subgraphs: SubgraphEndpoint[] }): string {
  if (config.JWKS_URL) return config.JWKS_URL;
  const usersUrl = supergraph.subgraphs.find((s) => s.name === 'users')?.url;
  if (!usersUrl) throw new Error('JWKS_URL: required when the supergraph has no "users" subgraph to take it from');
  return new URL('/.well-known/jwks.json', usersUrl).toString();
}

export async function startAuthentication(options: {
  config: AuthConfig;
  /** Where the users service publishes its keys. */
  jwksUrl: string;
  /** The users service, which links external sign-ins to users (only needed with IDENTITY_PROVIDERS). */
  users?: { url: string; secret: string };
  store: KeyValueStore;
  /** Revocations arrive here; without a bus, logged-out sessions work until their tokens expire. */
  bus: EventBus | undefined;
  /** The caller's address, for the audit log. */
  clientIp(req: IncomingMessage): string;
  logger: Logger;
}): Promise<Authentication> {
  const { config, logger } = options;
  // A revoked token lives at most this long after its revocation.
  const rememberSeconds = config.ACCESS_TOKEN_MAX_TTL_SECONDS + config.JWT_CLOCK_TOLERANCE_SECONDS + 5;
  const revocations = createRevocationList(options.store, {
    ttlSeconds: rememberSeconds,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
  });
  let feed: SupervisedConsumer | undefined;
  const stop = async () => {
    await feed?.stop();
    await revocations.close();
  };
  try {
    if (options.bus)
      feed = await consumeRevocations(options.bus, revocations, logger.child({ component: 'revocations' }), {
        rememberSeconds,
      });
    else logger.warn('no event bus: logged-out sessions keep working until their access tokens expire');
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }

  const providers = readIdentityProviders(config.IDENTITY_PROVIDERS);
  if (providers.length > 0 && !options.users)
    throw new Error('IDENTITY_PROVIDERS: the supergraph has no "users" subgraph to link external sign-ins');
  const external =
    providers.length > 0 && options.users
      ? createExternalTokens(providers, {
          link: linkThroughUsersService({ ...options.users, logger }),
          clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
          logger,
        })
      : undefined;
  if (external) logger.info({ issuers: providers.map((p) => p.issuer) }, 'external identity providers accepted');
  const tokens = createAccessTokenVerifier({
    jwksUrl: options.jwksUrl,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    maxTtlSeconds: config.ACCESS_TOKEN_MAX_TTL_SECONDS,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    jwksCacheSeconds: config.JWKS_CACHE_SECONDS,
    revocations,
    external,
    logger,
  });
  const auditRejection = auditSampler();
  return {
    stop,
    revocationFeed: () => feed?.state(),
    async authenticate(req, authorization = req.headers.authorization) {
      const check = await tokens.verify(authorization);
      if (!check.ok) {
        const ip = options.clientIp(req);
        if (auditRejection(`${ip}|${check.reason}`))
          audit(logger, 'token_rejected', { kind: 'access', reason: check.reason, ip });
      }
      return check;
    },
  };
}
