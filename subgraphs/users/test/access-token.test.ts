import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { signAccessToken } from '../src/auth/sessions.ts';
import { generateSigningJwk, loadSigningKeys } from '../src/auth/signing-keys.ts';

/**
 * An access token lives exactly ACCESS_TOKEN_TTL_SECONDS: the gateway refuses
 * one whose exp − iat exceeds its ACCESS_TOKEN_MAX_TTL_SECONDS, so a token
 * one second longer than configured is a token the gateway turns away.
 */
describe('users: access token lifetime', () => {
  const RealDate = globalThis.Date;
  afterEach(() => {
    globalThis.Date = RealDate;
  });

  it('exp − iat is the TTL even when the clock passes a second boundary while signing', async () => {
    const keys = await loadSigningKeys(JSON.stringify([await generateSigningJwk()]), undefined);
    // Every reading of the clock is one second later than the one before (a slow, busy machine at its worst).
    let t = RealDate.now();
    class TickingDate extends RealDate {
      constructor(...args: ConstructorParameters<typeof RealDate>) {
        if (args.length) super(...args);
        else super((t += 1000));
      }
      static override now() {
        return (t += 1000);
      }
    }
    globalThis.Date = TickingDate as DateConstructor;
    const token = await signAccessToken(
      { keys, issuer: 'storefront-users', audience: 'storefront', accessTtlSeconds: 900, refreshTtlSeconds: 3600 },
      { id: '00000000-0000-4000-8000-000000000001', role: 'CUSTOMER' },
      'session-1',
    );
    globalThis.Date = RealDate;
    const { iat, exp } = decodeJwt(token);
    assert.equal(exp! - iat!, 900);
  });
});
