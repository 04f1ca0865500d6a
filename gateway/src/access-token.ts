import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { isRole, type Identity } from '@storefront/platform/auth/identity';

/**
 * Verifies `Authorization: Bearer <jwt>` against the users service's key set.
 * The algorithm is pinned (no `alg: none`, no HMAC confusion), and issuer,
 * audience and expiry are required. Keys are fetched by `kid` and cached; an
 * unknown `kid` triggers one refetch, which is what makes key rotation work.
 */
export type TokenCheck = { ok: true; identity: Identity | null } | { ok: false; message: string };

export interface AccessTokenVerifier {
  verify(authorization: string | undefined): Promise<TokenCheck>;
}

export function createAccessTokenVerifier(options: { jwksUrl: string; issuer: string; audience: string }): AccessTokenVerifier {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return {
    async verify(authorization) {
      if (!authorization) return { ok: true, identity: null };
      const match = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
      if (!match) return { ok: false, message: 'Authorization header must be "Bearer <access token>"' };
      try {
        const { payload } = await jwtVerify(match[1]!, keys, {
          algorithms: ['EdDSA'],
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ['sub', 'exp', 'iat'],
          clockTolerance: 5,
        });
        if (typeof payload.sub !== 'string' || !isRole(payload.role)) return { ok: false, message: 'Access token is not valid' };
        return { ok: true, identity: { userId: payload.sub, role: payload.role } };
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { ok: false, message: 'Access token has expired' };
        return { ok: false, message: 'Access token is not valid' };
      }
    },
  };
}
