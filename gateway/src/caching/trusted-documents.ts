import { readFileSync } from 'node:fs';
import type { ApolloServerOptionsWithGateway, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { env } from '@storefront/platform/config';
import type { KeyValueStore } from '@storefront/platform/store';
import { tieredCache } from './tiered-cache.ts';

/**
 * Trusted documents: the operations the shop's own apps were built with
 * (`clients/generated/trusted-documents.json`, sha256 → text, written by
 * `npm run codegen`). Loaded, they answer persisted-query hashes from memory;
 * with PERSISTED_ONLY the gateway runs nothing else — what mobile builds
 * want, since a released app can only send what it was built with.
 *
 * Other operations may be registered by automatic persisted queries (APQ):
 * kept in the shared store (Redis), so a hash registered through one gateway
 * instance is known to every instance, with an in-process level in front so
 * a hot hash costs no round trip.
 */
export const trustedDocumentsEnv = {
  TRUSTED_DOCUMENTS: z
    .string()
    .optional()
    .describe('Path of a trusted-documents manifest (JSON object: sha256 hex → operation text).'),
  PERSISTED_ONLY: env.bool(false).describe('Refuse every operation that is not in TRUSTED_DOCUMENTS.'),
  APQ_CACHE_MEMORY_MB: env
    .int(8, 1)
    .describe('MiB of APQ registrations each instance keeps in process, in front of the shared store.'),
  APQ_TTL_SECONDS: env
    .int(24 * 60 * 60, 0)
    .describe(
      'Seconds an APQ registration lives in the shared store (0: until evicted); clients re-register on a miss.',
    ),
};

type TrustedDocumentsConfig = {
  TRUSTED_DOCUMENTS?: string | undefined;
  PERSISTED_ONLY: boolean;
  APQ_CACHE_MEMORY_MB: number;
  APQ_TTL_SECONDS: number;
};

export interface TrustedDocuments {
  /** Apollo Server's `persistedQueries` option over the shared store: the manifest first, then (unless persisted-only) APQ registrations. */
  persistedQueries(store: KeyValueStore): NonNullable<ApolloServerOptionsWithGateway<BaseContext>['persistedQueries']>;
  /** Persisted-only refusals, and a code for Apollo Server's code-less persisted-query refusals. */
  plugin: ApolloServerPlugin;
  /** The manifest: sha256 hex → operation text (plan-cache warm-up reads it). */
  documents: ReadonlyMap<string, string>;
  size: number;
}

// Apollo Server prefixes every persisted-query key with this before it reaches the cache.
const APQ_PREFIX = 'apq:';
const HASH = /^[0-9a-f]{64}$/;

export function loadTrustedDocuments(config: TrustedDocumentsConfig): TrustedDocuments {
  if (config.PERSISTED_ONLY && !config.TRUSTED_DOCUMENTS) {
    throw new Error('PERSISTED_ONLY: needs TRUSTED_DOCUMENTS (the manifest of the operations to allow)');
  }
  const manifest = config.TRUSTED_DOCUMENTS ? readManifest(config.TRUSTED_DOCUMENTS) : new Map<string, string>();

  const persistedQueries: TrustedDocuments['persistedQueries'] = (store) => {
    const registered = tieredCache({ store, namespace: APQ_PREFIX, memoryBytes: config.APQ_CACHE_MEMORY_MB * 2 ** 20 });
    const hashOf = (key: string) => (key.startsWith(APQ_PREFIX) ? key.slice(APQ_PREFIX.length) : key);
    const cache: KeyValueCache<string> = {
      async get(key) {
        const hash = hashOf(key);
        const trusted = manifest.get(hash);
        if (trusted !== undefined) return trusted;
        // Persisted-only: nothing but the manifest. Not a sha256 hex: no store round trip for garbage.
        if (config.PERSISTED_ONLY || !HASH.test(hash)) return undefined;
        return registered.get(hash);
      },
      async set(key, value, options) {
        const hash = hashOf(key);
        // Persisted-only: a client cannot register new operations. Apollo Server has checked that the hash is the text's.
        if (config.PERSISTED_ONLY || manifest.has(hash) || !HASH.test(hash)) return;
        await registered.set(hash, value, options);
      },
      async delete(key) {
        return registered.delete(hashOf(key));
      },
    };
    return { cache, ttl: config.APQ_TTL_SECONDS > 0 ? config.APQ_TTL_SECONDS : null };
  };

  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async didResolveOperation({ queryHash }) {
          if (config.PERSISTED_ONLY && !manifest.has(queryHash)) {
            throw new GraphQLError('Only trusted operations are accepted by this endpoint', {
              extensions: { code: 'PERSISTED_QUERY_REQUIRED', http: { status: 400 } },
            });
          }
        },
      };
    },
  };

  return { persistedQueries, plugin, documents: manifest, size: manifest.size };
}

function readManifest(path: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`TRUSTED_DOCUMENTS: cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`TRUSTED_DOCUMENTS: ${path} must be a JSON object of sha256 hash → operation text`);
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [hash, text] of entries) {
    if (!HASH.test(hash) || typeof text !== 'string') {
      throw new Error(
        `TRUSTED_DOCUMENTS: ${path}: entry "${hash.slice(0, 20)}" is not a sha256 hex hash → operation text`,
      );
    }
  }
  return new Map(entries as [string, string][]);
}
