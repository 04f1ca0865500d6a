import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type CryptoKey } from 'jose';

/**
 * The keys that sign access tokens. Every key has a `kid`; the first signs,
 * all are published in the JWKS, so a new key can be added first and the
 * old one dropped after the last token it signed has expired: rotation
 * without logging anyone out.
 */
export interface SigningKeys {
  active: { kid: string; key: CryptoKey };
  /** Public JWKs of every key, for /.well-known/jwks.json. */
  publicJwks: JWK[];
}

export const SIGNING_ALGORITHM = 'EdDSA';

export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: SIGNING_ALGORITHM, use: 'sig' };
}

/**
 * From JWT_SIGNING_KEYS when set (production); otherwise a key generated once
 * and kept in `fallbackFile`, so a restart of the embedded default keeps sessions.
 */
export async function loadSigningKeys(
  configured: string | undefined,
  fallbackFile: string | undefined,
): Promise<SigningKeys> {
  let jwks: JWK[];
  if (configured) {
    try {
      jwks = JSON.parse(configured) as JWK[];
    } catch {
      throw new Error('JWT_SIGNING_KEYS: must be a JSON array of private JWKs');
    }
    if (!Array.isArray(jwks) || jwks.length === 0) throw new Error('JWT_SIGNING_KEYS: must list at least one key');
  } else if (fallbackFile && existsSync(fallbackFile)) {
    jwks = JSON.parse(readFileSync(fallbackFile, 'utf8')) as JWK[];
  } else {
    jwks = [await generateSigningJwk()];
    if (fallbackFile) {
      mkdirSync(dirname(fallbackFile), { recursive: true });
      writeFileSync(fallbackFile, JSON.stringify(jwks), { mode: 0o600 });
    }
  }
  const publicJwks = await Promise.all(
    jwks.map(async (jwk, i) => {
      if (!jwk.kid || !jwk.d) throw new Error(`JWT_SIGNING_KEYS[${i}]: needs "kid" and the private part "d"`);
      const { d: _private, ...publicPart } = jwk;
      return { ...publicPart, alg: SIGNING_ALGORITHM, use: 'sig' };
    }),
  );
  const first = jwks[0]!;
  const key = (await importJWK(first, SIGNING_ALGORITHM)) as CryptoKey;
  return { active: { kid: first.kid!, key }, publicJwks };
}
