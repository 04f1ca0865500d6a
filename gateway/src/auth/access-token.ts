import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { isRole, type Identity } from '@storefront/platform/auth';
import type { Logger } from '@storefront/platform/logger';
import type { ExternalTokens } from './identity-providers.ts';
import { createKeySet } from './jwks.ts';
import type { RevocationList } from './revocation.ts';

/**
 * Verifies `Authorization: Bearer <jwt>` against the users service's key set.
 * The algorithm is pinned (no `alg: none`, no HMAC-with-the-public-key
 * confusion), `kid`, issuer, audience, expiry, subject and session are
 * required, the token may not live longer than the gateway allows, and its
 * session or user must not have been revoked nor its role changed since. Clients learn only "expired",
 * "not valid" or "session ended"; the precise reason goes to the audit log.
 */
export type TokenCheck =
  { ok: true; identity: Identity | null; sessionId?: string } | { ok: false; message: string; reason: string };

export interface AccessTokenVerifier {
  verify(authorization: string | undefined): Promise<TokenCheck>;
}

export interface AccessTokenOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Longest accepted lifetime (exp − iat). */
  maxTtlSeconds: number;
  clockToleranceSeconds: number;
  jwksCacheSeconds: number;
  revocations?: RevocationList;
  /** Tokens of external OpenID Connect issuers (identity-providers.ts). */
  external?: ExternalTokens;
  logger?: Logger;
}

const NOT_VALID = 'Access token is not valid';
const refused = (reason: string, message = NOT_VALID): TokenCheck => ({ ok: false, message, reason });

/**
 * Tokens whose signature and claims already checked out, by their exact text.
 * The EdDSA signature check is the largest per-request cost of a request
 * answered from the response cache, and an app sends the same token for
 * minutes. An entry lives until the token expires, and no longer than the
 * key set is trusted (JWKS_CACHE_SECONDS), so a key withdrawn from the users
 * service stops verifying as before. Revocation is not cached: it is checked
 * on every request.
 */
const VERIFIED_TOKENS_MAX = 10_000;

export function createAccessTokenVerifier(options: AccessTokenOptions): AccessTokenVerifier {
  const keys = createKeySet({
    url: options.jwksUrl,
    cacheMaxAgeMs: options.jwksCacheSeconds * 1000,
    logger: options.logger,
  });
  const verified = new LRUCache<string, JWTPayload>({ max: VERIFIED_TOKENS_MAX, ttlAutopurge: false });
  return {
    async verify(authorization) {
      if (!authorization) return { ok: true, identity: null };
      const match = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
      if (!match) return refused('malformed', 'Authorization header must be "Bearer <access token>"');
      const token = match[1]!;
      const issuer = options.external ? unverifiedIssuer(token) : undefined;
      if (issuer !== undefined && issuer !== options.issuer && options.external?.handles(issuer)) {
        const check = await options.external.verify(token, issuer);
        if (!check.ok) return refused(check.reason, check.message);
        const { identity } = check;
        // A deactivated user, or a role changed since: as for our own tokens (no session id: no single sign-out).
        const revoked = await options.revocations?.isRevoked({
          userId: identity.userId,
          sessionId: `external:${issuer}`,
          issuedAt: check.issuedAt,
          role: check.linkedRole,
        });
        return revoked ? refused('revoked', 'Session has ended; log in again') : { ok: true, identity };
      }
      let payload = verified.get(token);
      if (!payload) {
        const check = await verifySignatureAndClaims(token);
        if (!check.ok) return check.refusal;
        payload = check.payload;
        const untilExpiryMs = (payload.exp! + options.clockToleranceSeconds) * 1000 - Date.now();
        const ttl = Math.floor(Math.min(untilExpiryMs, options.jwksCacheSeconds * 1000));
        if (ttl > 0) verified.set(token, payload, { ttl });
      }
      if (
        await options.revocations?.isRevoked({
          userId: payload.sub!,
          sessionId: payload.sid as string,
          issuedAt: payload.iat!,
          role: payload.role as string,
        })
      ) {
        return refused('revoked', 'Session has ended; log in again');
      }
      return {
        ok: true,
        identity: { userId: payload.sub!, role: payload.role as Identity['role'] },
        sessionId: payload.sid as string,
      };
    },
  };

  async function verifySignatureAndClaims(
    token: string,
  ): Promise<{ ok: true; payload: JWTPayload } | { ok: false; refusal: TokenCheck }> {
    let payload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header, token) => {
          if (typeof header.kid !== 'string') throw new errors.JWSInvalid('kid is required');
          return keys(header, token);
        },
        {
          algorithms: ['EdDSA'],
          typ: 'JWT',
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ['sub', 'exp', 'iat', 'sid'],
          clockTolerance: options.clockToleranceSeconds,
        },
      ));
    } catch (error) {
      return { ok: false, refusal: rejection(error) };
    }
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || !isRole(payload.role))
      return { ok: false, refusal: refused('claims') };
    if (payload.exp! - payload.iat! > options.maxTtlSeconds) return { ok: false, refusal: refused('lifetime') };
    if (payload.iat! > Date.now() / 1000 + options.clockToleranceSeconds)
      return { ok: false, refusal: refused('issued in the future') };
    return { ok: true, payload };
  }
}

/** The `iss` a token claims, read before anything is verified: only to choose whose keys verify it. */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

function rejection(error: unknown): TokenCheck {
  if (error instanceof errors.JWTExpired) return refused('expired', 'Access token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) return refused(`claim ${error.claim} ${error.reason}`);
  if (error instanceof errors.JOSEAlgNotAllowed) return refused('algorithm');
  if (error instanceof errors.JWKSNoMatchingKey) return refused('unknown key');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refused('signature');
  if (error instanceof errors.JOSEError) return refused(`malformed (${error.code})`);
  // Not a token problem (a bug): let the server answer 500 and log it, rather than blame the client.
  throw error;
}
