import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BadUserInputError } from '@storefront/platform/errors';

/**
 * Passwords are hashed with scrypt (memory-hard, in Node's own crypto, so no
 * native add-on to build). The parameters travel in the stored string, so
 * raising the cost later still verifies old hashes.
 */
function derive(password: string, salt: Buffer, options: ScryptOptions & { N: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFKC'),
      salt,
      32,
      { ...options, maxmem: 256 * options.N * (options.r ?? 8) },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  const salt = randomBytes(16);
  const N = 2 ** cost;
  const key = await derive(password, salt, { N, r: 8, p: 1 });
  return ['scrypt', N, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const COMMON_PASSWORDS = new Set([
  'password123',
  'password1234',
  '1234567890',
  'qwerty12345',
  'letmein1234',
  'iloveyou123',
]);

/** Rejects passwords an attacker would try first; names the field for the client. */
export function assertStrongPassword(password: string, field = 'input.password'): void {
  if (password.length < 10) throw new BadUserInputError('Password must be at least 10 characters', field);
  if (password.length > 256) throw new BadUserInputError('Password must be at most 256 characters', field);
  if (!/[a-zA-Z]/.test(password) || !/[0-9]/.test(password)) {
    throw new BadUserInputError('Password must contain letters and digits', field);
  }
  if (COMMON_PASSWORDS.has(password.toLowerCase())) throw new BadUserInputError('Password is too common', field);
}
