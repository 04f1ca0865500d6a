import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { MemoryStore } from '@storefront/platform/store';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../src/auth/access-token.ts';
import { createRevocationList } from '../../src/auth/revocation.ts';

/**
 * The verifier against a key server we control: rotation (a new key works
 * at once, a removed one stops after the cache age), made-up key ids cost
 * one fetch a second however many arrive, an unreachable key server keeps
 * the last good keys, and revoked sessions and users are refused.
 */
interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } };
}

const sign = (key: Key, claims: { sub?: string; sid?: string; iat?: number } = {}, kid = key.kid) =>
  new SignJWT({ role: 'CUSTOMER', sid: claims.sid ?? randomUUID() })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
    .setSubject(claims.sub ?? randomUUID())
    .setIssuer('storefront')
    .setAudience('storefront-api')
    .setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000))
    .setExpirationTime('10m')
    .sign(key.privateKey);

describe('gateway: access tokens and the key set', { timeout: 30_000 }, () => {
  let server: Server;
  let published: Key[] = [];
  let fetches = 0;
  let down = false;
  let jwksUrl: string;
  const revocations = createRevocationList(new MemoryStore(), { ttlSeconds: 1, clockToleranceSeconds: 0 });
  let verifier: AccessTokenVerifier;
  const verify = (token: string) => verifier.verify(`Bearer ${token}`);

  before(async () => {
    server = createServer((req, res) => {
      fetches++;
      if (down) return void res.writeHead(503).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
    verifier = createAccessTokenVerifier({
      jwksUrl,
      issuer: 'storefront',
      audience: 'storefront-api',
      maxTtlSeconds: 900,
      clockToleranceSeconds: 5,
      jwksCacheSeconds: 1,
      revocations,
    });
  });
  after(async () => {
    await revocations.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('rotates: a key added first signs at once, the old one verifies until removed', async () => {
    const a = await newKey();
    const b = await newKey();
    published = [a];
    const tokenA = await sign(a);
    assert.equal((await verify(tokenA)).ok, true);

    // Right after a fetch: the unknown kid waits out the cooldown instead of being refused.
    published = [b, a];
    const started = Date.now();
    assert.equal((await verify(await sign(b))).ok, true, 'new key verifies at once');
    assert.ok(Date.now() - started < 1_500);
    assert.equal((await verify(tokenA)).ok, true, 'old key still verifies');

    published = [b];
    await sleep(1_100); // the cache age
    const removed = await verify(tokenA);
    assert.deepEqual(removed, { ok: false, reason: 'unknown key', message: 'Access token is not valid' });
    assert.equal((await verify(await sign(b))).ok, true);
  });

  it('made-up key ids cost one fetch a second, however many arrive', async () => {
    const a = await newKey();
    const attacker = await newKey();
    published = [a];
    await verify(await sign(a));
    const before = fetches;
    const results = await Promise.all(Array.from({ length: 50 }, () => sign(attacker, {}, randomUUID()).then(verify)));
    assert.ok(results.every((r) => !r.ok && r.reason === 'unknown key'));
    assert.ok(fetches - before <= 2, `${fetches - before} fetches`);
  });

  it('keeps the last good keys while the key server is down', async () => {
    const a = await newKey();
    published = [a];
    await sleep(1_100);
    assert.equal((await verify(await sign(a))).ok, true);
    down = true;
    await sleep(1_100);
    try {
      assert.equal((await verify(await sign(a))).ok, true);
    } finally {
      down = false;
    }
  });

  it('refuses revoked sessions and tokens issued before a user was revoked, until the entries expire', async () => {
    const a = await newKey();
    published = [a];
    await sleep(1_100);
    const userId = randomUUID();
    const sid = randomUUID();
    const revoked = await sign(a, { sub: userId, sid });
    const sameUserOtherSession = await sign(a, { sub: userId });
    await revocations.revokeSession(sid);
    assert.deepEqual(await verify(revoked), {
      ok: false,
      reason: 'revoked',
      message: 'Session has ended; log in again',
    });
    assert.equal((await verify(sameUserOtherSession)).ok, true);

    const now = Math.floor(Date.now() / 1000);
    const older = await sign(a, { sub: userId, iat: now - 10 });
    const newer = await sign(a, { sub: userId, iat: now + 2 });
    await revocations.revokeUser(userId, now);
    assert.equal((await verify(older)).ok, false);
    assert.equal((await verify(sameUserOtherSession)).ok, false);
    assert.equal((await verify(newer)).ok, true, 'issued after the revocation');

    await sleep(1_100); // ttlSeconds: 1
    assert.equal(
      (await verify(revoked)).ok,
      true,
      'the entry outlives no token it could match; here the ttl is short on purpose',
    );
  });

  it('refuses tokens whose role is no longer the user’s, not those that still match', async () => {
    const a = await newKey();
    published = [a];
    await sleep(1_100);
    const userId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const asCustomer = await sign(a, { sub: userId, iat: now - 5 });
    await revocations.recordRole(userId, 'CUSTOMER', now);
    assert.equal((await verify(asCustomer)).ok, true, 'a name change (same role) logs nobody out');
    await revocations.recordRole(userId, 'STAFF', now);
    assert.deepEqual(await verify(asCustomer), {
      ok: false,
      reason: 'revoked',
      message: 'Session has ended; log in again',
    });
  });

  it('a token verified once (and remembered) is still refused once it expires', async () => {
    const key = await newKey();
    published = [key];
    const strict = createAccessTokenVerifier({
      jwksUrl,
      issuer: 'storefront',
      audience: 'storefront-api',
      maxTtlSeconds: 900,
      clockToleranceSeconds: 0,
      jwksCacheSeconds: 60,
    });
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await new SignJWT({ role: 'CUSTOMER', sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: key.kid })
      .setSubject(randomUUID())
      .setIssuer('storefront')
      .setAudience('storefront-api')
      .setIssuedAt(now)
      .setExpirationTime(now + 2)
      .sign(key.privateKey);
    assert.equal((await strict.verify(`Bearer ${shortLived}`)).ok, true);
    assert.equal((await strict.verify(`Bearer ${shortLived}`)).ok, true);
    await sleep((now + 2) * 1000 - Date.now() + 50);
    const late = await strict.verify(`Bearer ${shortLived}`);
    assert.equal(late.ok, false);
    assert.equal(!late.ok && late.reason, 'expired');
  });

  it('passes anonymous requests and refuses other schemes', async () => {
    assert.deepEqual(await verifier.verify(undefined), { ok: true, identity: null });
    const basic = await verifier.verify('Basic dXNlcjpwYXNz');
    assert.equal(basic.ok, false);
  });
});
