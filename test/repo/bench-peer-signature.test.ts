import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifySubgraphRequest } from '@storefront/platform/auth';
import { signerFromEnv } from '../../bench/peers/sign.mjs';

/**
 * The bench's peer gateways sign their subgraph calls with a plain-JS copy of
 * our gateway's protocol (they run under plain `node`): what they sign must
 * verify exactly as our gateway's calls do, or the bench would compare
 * refusals — and a copy that drifted must fail here, not in a bench run.
 */
describe('bench peers: subgraph call signatures', () => {
  const secret = 'bench-test-secret-0123456789abcdef';
  const customer = '6f1c2b9e-3a4d-4e5f-8a9b-0c1d2e3f4a5b';
  const benchCustomer = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
  const body = JSON.stringify({ query: '{ me { id } }', variables: {} });
  const signer = signerFromEnv({
    SUBGRAPH_SECRET: secret,
    SIGN_AS: JSON.stringify({ userId: benchCustomer, role: 'CUSTOMER' }),
  });

  it('acts for the customer the request names, verified by the subgraphs', () => {
    const check = verifySubgraphRequest(secret, body, signer.headersFor(body, customer));
    assert.deepEqual(check, { ok: true, identity: { userId: customer, role: 'CUSTOMER' } });
  });

  it('acts for SIGN_AS when the request names nobody (or something that is no customer id)', () => {
    for (const named of [undefined, 'admin', '']) {
      const check = verifySubgraphRequest(secret, body, signer.headersFor(body, named));
      assert.deepEqual(check, { ok: true, identity: { userId: benchCustomer, role: 'CUSTOMER' } }, String(named));
    }
  });

  it('signs anonymous calls without SIGN_AS', () => {
    const anonymous = signerFromEnv({ SUBGRAPH_SECRET: secret });
    assert.deepEqual(verifySubgraphRequest(secret, body, anonymous.headersFor(body, undefined)), {
      ok: true,
      identity: null,
    });
  });

  it('a signature holds for its own body and secret only, and each call gets its own nonce', () => {
    const headers = signer.headersFor(body, customer);
    assert.deepEqual(verifySubgraphRequest(secret, `${body} `, headers), { ok: false, reason: 'invalid' });
    assert.deepEqual(verifySubgraphRequest(`${secret}x`, body, headers), { ok: false, reason: 'invalid' });
    assert.notEqual(signer.headersFor(body, customer)['x-storefront-nonce'], headers['x-storefront-nonce']);
  });

  it('refuses to start without the secret, naming it', () => {
    assert.throws(() => signerFromEnv({}), /SUBGRAPH_SECRET: required/);
  });
});
