import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { isRole, type Identity } from './identity.ts';

/**
 * How a subgraph knows a request came from the gateway, and who the caller is.
 *
 * The gateway signs every subgraph request with a secret it shares with that
 * subgraph: HMAC-SHA256 over the timestamp, the forwarded identity and the
 * body's hash, plus a random nonce. The identity therefore cannot be forged or
 * moved onto another body, and an old request cannot be replayed outside the
 * allowed clock skew. Inside the skew window the subgraph remembers the
 * signatures it has accepted and refuses a repeat (`ReplayGuard`); the nonce
 * makes sure two genuinely different requests (same identity, same body, same
 * millisecond) never share a signature.
 */
export const SIGNATURE_HEADERS = {
  identity: 'x-storefront-identity',
  timestamp: 'x-storefront-timestamp',
  signature: 'x-storefront-signature',
  nonce: 'x-storefront-nonce',
} as const;

/** How far a signed timestamp may be from the subgraph's clock. */
export const DEFAULT_MAX_SKEW_MS = 30_000;

function encodeIdentity(identity: Identity | null): string {
  return identity
    ? Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString('base64url')
    : '';
}

function mac(secret: string, timestamp: string, nonce: string, identity: string, body: string): Buffer {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return createHmac('sha256', secret).update(`${timestamp}\n${nonce}\n${identity}\n${bodyHash}`).digest();
}

export function signSubgraphRequest(
  secret: string,
  body: string,
  identity: Identity | null,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  // randomUUID draws on a pool of entropy it refills in batches: cheaper per call than randomBytes(16).
  const nonce = randomUUID();
  const encoded = encodeIdentity(identity);
  return {
    [SIGNATURE_HEADERS.identity]: encoded,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: mac(secret, timestamp, nonce, encoded, body).toString('base64url'),
  };
}

export type SignatureCheck =
  { ok: true; identity: Identity | null } | { ok: false; reason: 'missing' | 'stale' | 'invalid' };

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
  const nonce = read(SIGNATURE_HEADERS.nonce);
  const encoded = read(SIGNATURE_HEADERS.identity) ?? '';
  if (!timestamp || !signature || !nonce) return { ok: false, reason: 'missing' };

  const skew = Math.abs((options.now ?? Date.now()) - Number(timestamp));
  if (!Number.isFinite(skew) || skew > (options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS))
    return { ok: false, reason: 'stale' };

  const expected = mac(secret, timestamp, nonce, encoded, body);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };

  return decodeIdentity(encoded);
}

/**
 * Remembers the signatures a subgraph has accepted while they could still pass
 * the timestamp check, so an identical signed request is accepted only once.
 *
 * Limits: the memory is per instance. With several replicas behind one
 * address, a request captured on the wire could be replayed once against each
 * other replica within the skew window (the window bounds the rest: older
 * requests are refused as stale). Memory is bounded by `maxEntries`; when it
 * is full of still-live signatures the guard refuses new requests rather than
 * forget one (fail closed; only the gateway can produce signed requests, so
 * only a gateway flood can fill it).
 */
export class ReplayGuard {
  /** signature → the time after which its timestamp is stale anyway. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: { maxSkewMs?: number; maxEntries?: number } = {}) {}

  get size(): number {
    return this.seen.size;
  }

  /** 'ok' the first time a signature is seen, 'replayed' after, 'full' when no room is left. */
  check(headers: Record<string, string | string[] | undefined>, now = Date.now()): 'ok' | 'replayed' | 'full' {
    const raw = headers[SIGNATURE_HEADERS.signature];
    const signature = Array.isArray(raw) ? raw[0] : raw;
    const rawTimestamp = headers[SIGNATURE_HEADERS.timestamp];
    const timestamp = Number(Array.isArray(rawTimestamp) ? rawTimestamp[0] : rawTimestamp);
    if (!signature || !Number.isFinite(timestamp)) return 'replayed';
    this.sweep(now, false);
    if (this.seen.has(signature)) return 'replayed';
    if (this.seen.size >= (this.options.maxEntries ?? 100_000)) {
      this.sweep(now, true);
      if (this.seen.size >= (this.options.maxEntries ?? 100_000)) return 'full';
    }
    this.seen.set(signature, timestamp + (this.options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS));
    return 'ok';
  }

  /** Drops expired entries: from the oldest insertion until a live one, or all of them when `full`. */
  private sweep(now: number, full: boolean): void {
    for (const [signature, expires] of this.seen) {
      if (expires < now) this.seen.delete(signature);
      else if (!full) return;
    }
  }
}

function decodeIdentity(encoded: string): SignatureCheck {
  if (!encoded) return { ok: true, identity: null };
  try {
    const claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as { sub?: unknown; role?: unknown };
    if (typeof claims.sub !== 'string' || !isRole(claims.role)) return { ok: false, reason: 'invalid' };
    return { ok: true, identity: { userId: claims.sub, role: claims.role } };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
}

/**
 * Subscriptions travel over one WebSocket per subgraph that the gateway
 * multiplexes for many callers, so each subscribe message carries its own
 * signed identity (in `extensions.storefront`), and the connection itself is
 * opened with a signed timestamp (in `connectionParams`).
 */
export interface SignedSubscription {
  identity: string;
  timestamp: string;
  signature: string;
}

const operationDigest = (query: string, variables: Record<string, unknown> | null | undefined) =>
  createHash('sha256')
    .update(query)
    .update('\n')
    .update(stableStringify(variables ?? {}))
    .digest('hex');

export function signSubscription(
  secret: string,
  operation: { query: string; variables?: Record<string, unknown> | null },
  identity: Identity | null,
  now = Date.now(),
): SignedSubscription {
  const timestamp = String(now);
  const encoded = encodeIdentity(identity);
  const signature = createHmac('sha256', secret)
    .update(`subscribe\n${timestamp}\n${encoded}\n${operationDigest(operation.query, operation.variables)}`)
    .digest('base64url');
  return { identity: encoded, timestamp, signature };
}

export function verifySubscription(
  secret: string,
  operation: { query: string; variables?: Record<string, unknown> | null },
  signed: Partial<SignedSubscription> | undefined,
  options: { maxSkewMs?: number; now?: number } = {},
): SignatureCheck {
  if (!signed?.timestamp || !signed.signature) return { ok: false, reason: 'missing' };
  const skew = Math.abs((options.now ?? Date.now()) - Number(signed.timestamp));
  if (!Number.isFinite(skew) || skew > (options.maxSkewMs ?? 30_000)) return { ok: false, reason: 'stale' };
  const expected = createHmac('sha256', secret)
    .update(
      `subscribe\n${signed.timestamp}\n${signed.identity ?? ''}\n${operationDigest(operation.query, operation.variables)}`,
    )
    .digest();
  const given = Buffer.from(signed.signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
  return decodeIdentity(signed.identity ?? '');
}

export function signConnection(secret: string, now = Date.now()): { timestamp: string; signature: string } {
  const timestamp = String(now);
  return { timestamp, signature: createHmac('sha256', secret).update(`connect\n${timestamp}`).digest('base64url') };
}

export function verifyConnection(
  secret: string,
  params: { timestamp?: unknown; signature?: unknown } | undefined,
  options: { maxSkewMs?: number; now?: number } = {},
): boolean {
  if (typeof params?.timestamp !== 'string' || typeof params.signature !== 'string') return false;
  const skew = Math.abs((options.now ?? Date.now()) - Number(params.timestamp));
  if (!Number.isFinite(skew) || skew > (options.maxSkewMs ?? 30_000)) return false;
  const expected = createHmac('sha256', secret).update(`connect\n${params.timestamp}`).digest();
  const given = Buffer.from(params.signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** JSON with object keys sorted, so both sides hash the same bytes for the same variables. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}
