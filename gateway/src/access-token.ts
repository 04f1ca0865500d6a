import { errors, jwtVerify } from 'jose';
import { isRole, type Identity } from '@storefront/platform/auth/identity';
import type { Logger } from '@storefront/platform/logger';
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
  | { ok: true; identity: Identity | null; sessionId?: string }
  | { ok: false; message: string; reason: string };

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
  logger?: Logger;
}

const NOT_VALID = 'Access token is not valid';
const refused = (reason: string, message = NOT_VALID): TokenCheck => ({ ok: false, message, reason });

export function createAccessTokenVerifier(options: AccessTokenOptions): AccessTokenVerifier {
  const keys = createKeySet({ url: options.jwksUrl, cacheMaxAgeMs: options.jwksCacheSeconds * 1000, logger: options.logger });
  return {
    async verify(authorization) {
      if (!authorization) return { ok: true, identity: null };
      const match = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
      if (!match) return refused('malformed', 'Authorization header must be "Bearer <access token>"');
      let payload;
      try {
        ({ payload } = await jwtVerify(match[1]!, (header, token) => {
          if (typeof header.kid !== 'string') throw new errors.JWSInvalid('kid is required');
          return keys(header, token);
        }, {
          algorithms: ['EdDSA'],
          typ: 'JWT',
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ['sub', 'exp', 'iat', 'sid'],
          clockTolerance: options.clockToleranceSeconds,
        }));
      } catch (error) {
        return rejection(error);
      }
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || !isRole(payload.role)) return refused('claims');
      if (payload.exp! - payload.iat! > options.maxTtlSeconds) return refused('lifetime');
      if (payload.iat! > Date.now() / 1000 + options.clockToleranceSeconds) return refused('issued in the future');
      if (await options.revocations?.isRevoked({ userId: payload.sub, sessionId: payload.sid, issuedAt: payload.iat!, role: payload.role })) {
        return refused('revoked', 'Session has ended; log in again');
      }
      return { ok: true, identity: { userId: payload.sub, role: payload.role }, sessionId: payload.sid };
    },
  };
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
