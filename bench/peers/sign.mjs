// How the peers sign their subgraph calls, as our gateway does (the protocol of
// packages/platform/src/auth/gateway-signature.ts: HMAC-SHA256 over timestamp,
// nonce, identity and the body's hash, with the secret the subgraphs share),
// so the subgraphs behind every gateway run in production mode and verify
// every call. Plain JS: the peers run under plain `node`. A test checks it
// against the subgraphs' verifier (test/repo/bench-peer-signature.test.ts).
//
// Whom a call acts for: the customer the client's `x-bench-customer-id`
// header names (the mix: many customers), else SIGN_AS (the bench customer).
// The peers verify no token: that header stands in for what their auth
// plugins would take from one.
import { createHash, createHmac, randomBytes } from 'node:crypto';

export const CUSTOMER_HEADER = 'x-bench-customer-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** From the environment: SUBGRAPH_SECRET (required) and SIGN_AS ({"userId","role"} JSON, optional). */
export function signerFromEnv(env = process.env) {
  const secret = env.SUBGRAPH_SECRET;
  if (!secret) throw new Error('SUBGRAPH_SECRET: required (the secret the subgraphs verify calls with)');
  const fixed = env.SIGN_AS ? JSON.parse(env.SIGN_AS) : null;
  return {
    /** The headers to add to one subgraph call with this exact body, acting for the customer `customerId` names. */
    headersFor(body, customerId) {
      const identity =
        typeof customerId === 'string' && UUID.test(customerId) ? { userId: customerId, role: 'CUSTOMER' } : fixed;
      return signSubgraphRequest(secret, body, identity);
    },
  };
}

export function signSubgraphRequest(secret, body, identity, now = Date.now()) {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('base64url');
  const encoded = identity
    ? Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString('base64url')
    : '';
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const signature = createHmac('sha256', secret)
    .update(`${timestamp}\n${nonce}\n${encoded}\n${bodyHash}`)
    .digest('base64url');
  return {
    'x-storefront-identity': encoded,
    'x-storefront-timestamp': timestamp,
    'x-storefront-nonce': nonce,
    'x-storefront-signature': signature,
  };
}
