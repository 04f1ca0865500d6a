import {
  createLocalJWKSet,
  errors,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
  type CryptoKey,
} from 'jose';
import type { Logger } from '@storefront/platform/logger';

/**
 * The users service's public keys, as the gateway's token verifier sees them.
 *
 * Why not jose's createRemoteJWKSet: after any fetch it refuses to fetch
 * again for a 30 s cooldown, so a token signed with a key that was added a
 * moment ago is rejected until the cooldown ends; key rotation would log
 * people out. Here an unknown `kid` waits for the cooldown (≤ 1 s) and then
 * fetches, and all waiting requests share that one fetch: an attacker
 * spraying made-up kids costs the users service one fetch a second, and no
 * legitimate token is refused for being new. A removed key stops verifying
 * once the cached set is older than `cacheMaxAgeMs`. When the users service
 * cannot be reached, the last good set keeps serving.
 */
export interface KeySetOptions {
  url: string;
  cacheMaxAgeMs: number;
  /** Least time between two fetches. @default 1_000 */
  cooldownMs?: number;
  /** @default 5_000 */
  timeoutMs?: number;
  logger?: Logger;
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export function createKeySet(options: KeySetOptions): KeyResolver {
  const cooldownMs = options.cooldownMs ?? 1_000;
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let fetchedAt = 0;
  let inFlight: Promise<void> | undefined;

  const fetchKeys = async () => {
    const wait = fetchedAt + cooldownMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = (await response.json()) as JSONWebKeySet;
      if (!Array.isArray(body?.keys)) throw new Error('not a JSON Web Key Set');
      local = createLocalJWKSet(body);
    } catch (error) {
      // Keep the last good set: an outage of the users service must not sign everyone out.
      options.logger?.warn(
        { err: { message: (error as Error).message }, url: options.url },
        'could not fetch the token keys',
      );
      if (!local) throw new errors.JWKSNoMatchingKey();
    } finally {
      fetchedAt = Date.now();
    }
  };
  const refresh = () => (inFlight ??= fetchKeys().finally(() => (inFlight = undefined)));

  return async (header, token) => {
    if (!local || Date.now() - fetchedAt > options.cacheMaxAgeMs) await refresh();
    try {
      return await local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A key we have not seen: maybe just added. One shared refetch, then decide.
      await refresh();
      return local!(header, token);
    }
  };
}
