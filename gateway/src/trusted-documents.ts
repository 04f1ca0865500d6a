import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import { InMemoryLRUCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { env } from '@storefront/platform/config';

/**
 * Trusted documents: the operations the shop's own apps were built with
 * (`clients/generated/trusted-documents.json`, sha256 → text, written by
 * `npm run codegen`). Loaded, they answer persisted-query hashes from memory;
 * with PERSISTED_ONLY the gateway runs nothing else — what mobile builds
 * want, since a released app can only send what it was built with.
 */
export const trustedDocumentsEnv = {
  /** Path of a trusted-documents manifest (JSON object: sha256 hex → operation text). */
  TRUSTED_DOCUMENTS: z.string().optional(),
  /** Refuse every operation that is not in TRUSTED_DOCUMENTS. */
  PERSISTED_ONLY: env.bool(false),
};

export interface TrustedDocuments {
  /** Apollo Server's persisted-query cache: the manifest first, then (unless persisted-only) APQ registrations. */
  cache: KeyValueCache<string>;
  plugin: ApolloServerPlugin | undefined;
  size: number;
}

const APQ_PREFIX = 'apq:';
const HASH = /^[0-9a-f]{64}$/;

export function loadTrustedDocuments(config: { TRUSTED_DOCUMENTS?: string | undefined; PERSISTED_ONLY: boolean }): TrustedDocuments {
  if (config.PERSISTED_ONLY && !config.TRUSTED_DOCUMENTS) {
    throw new Error('PERSISTED_ONLY: needs TRUSTED_DOCUMENTS (the manifest of the operations to allow)');
  }
  const manifest = config.TRUSTED_DOCUMENTS ? readManifest(config.TRUSTED_DOCUMENTS) : new Map<string, string>();
  const registered = new InMemoryLRUCache<string>();

  const cache: KeyValueCache<string> = {
    async get(key) {
      const hash = key.startsWith(APQ_PREFIX) ? key.slice(APQ_PREFIX.length) : key;
      return manifest.get(hash) ?? (config.PERSISTED_ONLY ? undefined : registered.get(key));
    },
    async set(key, value, options) {
      // Persisted-only: a client cannot register new operations.
      if (!config.PERSISTED_ONLY) await registered.set(key, value, options);
    },
    async delete(key) {
      await registered.delete(key);
    },
  };

  const plugin: ApolloServerPlugin | undefined = config.PERSISTED_ONLY
    ? {
        async requestDidStart() {
          return {
            async didResolveOperation({ queryHash }) {
              if (!manifest.has(queryHash)) {
                throw new GraphQLError('Only trusted operations are accepted by this endpoint', {
                  extensions: { code: 'PERSISTED_QUERY_REQUIRED', http: { status: 400 } },
                });
              }
            },
          };
        },
      }
    : undefined;

  return { cache, plugin, size: manifest.size };
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
      throw new Error(`TRUSTED_DOCUMENTS: ${path}: entry "${hash.slice(0, 20)}" is not a sha256 hex hash → operation text`);
    }
  }
  return new Map(entries as [string, string][]);
}
