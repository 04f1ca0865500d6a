import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '@storefront/platform/auth';
import { SIGNING_ALGORITHM, type SigningKeys } from './signing-keys.ts';

export interface TokenSettings {
  keys: SigningKeys;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/**
 * A short-lived access token: who (`sub`), what role, and which session
 * (`sid`, the refresh-token family), so that ending the session (log out,
 * a replayed refresh token) can stop its access tokens at the gateway too.
 * Nothing secret.
 */
export async function signAccessToken(
  settings: TokenSettings,
  user: { id: string; role: Role },
  sessionId: string,
): Promise<string> {
  // One clock reading for both: read twice (jose's default), a second boundary between the reads made
  // exp − iat one longer than the TTL, and the gateway refuses tokens that live longer than its maximum.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: user.role, sid: sessionId })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: settings.keys.active.kid, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setExpirationTime(now + settings.accessTtlSeconds)
    .sign(settings.keys.active.key);
}

/** Refresh tokens are random; only their SHA-256 is stored, so a database leak yields no sessions. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('hex');
