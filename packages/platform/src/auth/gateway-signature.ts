import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isRole, type Identity } from './identity.ts';

/**
 * How a subgraph knows a request came from the gateway, and who the caller is.
 *
 * The gateway signs every subgraph request with a secret it shares with that
 * subgraph: HMAC-SHA256 over the timestamp, the forwarded identity and the
 * body's hash. The identity therefore cannot be forged or moved onto another
 * body, and an old request cannot be replayed outside the allowed clock skew.
 */
export const SIGNATURE_HEADERS = {
  identity: 'x-storefront-identity',
  timestamp: 'x-storefront-timestamp',
  signature: 'x-storefront-signature',
} as const;

function encodeIdentity(identity: Identity | null): string {
  return identity ? Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString('base64url') : '';
}

function mac(secret: string, timestamp: string, identity: string, body: string): Buffer {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret).update(`${timestamp}\n${identity}\n${bodyHash}`).digest();
}

export function signSubgraphRequest(
  secret: string,
  body: string,
  identity: Identity | null,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  const encoded = encodeIdentity(identity);
  return {
    [SIGNATURE_HEADERS.identity]: encoded,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.signature]: mac(secret, timestamp, encoded, body).toString('base64url'),
  };
}

export type SignatureCheck =
  | { ok: true; identity: Identity | null }
  | { ok: false; reason: 'missing' | 'stale' | 'invalid' };

export function verifySubgraphRequest(
  secret: string,
  body: string,
  headers: Record<string, string | string[] | undefined>,
  options: { maxSkewMs?: number; now?: number } = {},
): SignatureCheck {
  const read = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const timestamp = read(SIGNATURE_HEADERS.timestamp);
  const signature = read(SIGNATURE_HEADERS.signature);
  const encoded = read(SIGNATURE_HEADERS.identity) ?? '';
  if (!timestamp || !signature) return { ok: false, reason: 'missing' };

  const skew = Math.abs((options.now ?? Date.now()) - Number(timestamp));
  if (!Number.isFinite(skew) || skew > (options.maxSkewMs ?? 30_000)) return { ok: false, reason: 'stale' };

  const expected = mac(secret, timestamp, encoded, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };

  if (!encoded) return { ok: true, identity: null };
  try {
    const claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { sub?: unknown; role?: unknown };
    if (typeof claims.sub !== 'string' || !isRole(claims.role)) return { ok: false, reason: 'invalid' };
    return { ok: true, identity: { userId: claims.sub, role: claims.role } };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
}
