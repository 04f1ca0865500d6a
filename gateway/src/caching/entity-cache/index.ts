import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { LRUCache } from 'lru-cache';
import { ReceivedHeaders, type EntityFetchCache } from '../../transport/index.ts';
import type { EntityCacheConfig } from './config.ts';

export { entityCacheEnv, type EntityCacheConfig } from './config.ts';

/**
 * The entity cache: public entities (a product's name and price, a
 * category) fetched from a subgraph for one query are kept and reused by the
 * next query that needs the same entity with the same fields — a personal
 * page included. The response cache cannot help an order-history page: the
 * page is one customer's, so its answer is never stored; but the products on
 * it are the same for everyone, and here they are answered without calling
 * the products subgraph. (Apollo Router calls this entity caching.)
 *
 * What may be kept is decided by the subgraph, as for the response cache: an
 * `_entities` answer is stored only when its Cache-Control header says
 * `public` with a positive max-age (the subgraph's `@cacheControl` hints: one
 * private or uncached field in the selection, like staff-only `stockLevel`,
 * makes the whole answer uncacheable), it has no errors, and the fetch is
 * part of a query operation (never of a mutation: its answer must be fresh).
 * Each entity is stored on its own, so the next fetch asking for the same
 * product among others sends only the others.
 *
 * The key of an entity: the deployment (supergraph and routing, as for the
 * response cache), the catalog generation (moves on every catalog event, so
 * a price change is seen as soon as the event is consumed), the subgraph,
 * the caller's role and the headers propagated to the subgraph (what may
 * change the answer besides the body), the selection asked for, the other
 * variables, and the entity's representation (its `__typename` and key
 * fields). Never the user: only public answers are stored.
 *
 * Process memory only (an LRU bounded in bytes): a hit must cost less than
 * the fetch it saves, and a round trip to Redis per fetch would take a good
 * part of that. Each instance fills its own.
 */
export interface EntityCacheStats {
  /** Entities answered from the cache. */
  hits: number;
  /** Entities that had to be fetched. */
  misses: number;
  /** Entities stored. */
  stores: number;
}

/** The transport asks it about every entity fetch of a query (transport/data-source.ts). */
export interface EntityCache extends EntityFetchCache {
  stats(): EntityCacheStats;
}

/** A fetch the gateway's query planner makes for entities: `_entities(representations: $representations)`. */
export function isEntityFetch(request: GatewayGraphQLRequest): boolean {
  return (
    Array.isArray(request.variables?.representations) &&
    typeof request.query === 'string' &&
    request.query.includes('{_entities(representations:$representations)')
  );
}

export function createEntityCache(options: {
  config: EntityCacheConfig;
  /** The catalog generation now (catalog-generation.ts). */
  generation: () => string;
  /** The served supergraph and routing, as a short hash (deployment.ts). */
  deployment: () => string;
}): EntityCache {
  const { config } = options;
  const stats: EntityCacheStats = { hits: 0, misses: 0, stores: 0 };
  // Each entity as the subgraph answered it, as JSON: every caller parses its own copy (the gateway merges into it).
  const entries = new LRUCache<string, string>({
    maxSize: config.ENTITY_CACHE_MEMORY_MB * 1024 * 1024,
    sizeCalculation: (json, key) => json.length + key.length,
    ttl: config.ENTITY_CACHE_MAX_AGE_SECONDS * 1000,
  });

  // Selections a subgraph answered as private or uncacheable (a customer's orders): sent straight on, without
  // lookups, until the bound on an entry's age passes (a hint may depend on the data, and change).
  const uncacheable = new LRUCache<string, true>({ max: 10_000, ttl: config.ENTITY_CACHE_MAX_AGE_SECONDS * 1000 });

  return {
    handles: isEntityFetch,
    stats: () => ({ ...stats }),
    async fetch({ subgraph, request, caller, send }) {
      const representations = request.variables!.representations as unknown[];
      const selection = selectionKey(options.deployment(), subgraph, caller, request);
      if (uncacheable.has(selection)) return send(request);
      // Read before the fetch: what is stored from an answer computed while a change arrives is under the old generation, unreachable.
      const prefix = `${options.generation()}\n${selection}`;
      // The planner asks for an entity once per place it appears (a product in two orders): each is looked up, and fetched, once.
      const lookups: Lookup[] = [];
      const byKey = new Map<string, Lookup>();
      const atPosition = representations.map((representation, index) => {
        const key = prefix + JSON.stringify(representation);
        let lookup = byKey.get(key);
        if (!lookup) {
          const json = entries.get(key);
          const expiresAt = json === undefined ? Infinity : Date.now() + entries.getRemainingTTL(key);
          lookup = { key, representation, firstIndex: index, json, expiresAt };
          byKey.set(key, lookup);
          lookups.push(lookup);
        }
        return lookup;
      });
      const missing = lookups.filter((lookup) => lookup.json === undefined);
      stats.hits += lookups.length - missing.length;
      stats.misses += missing.length;
      // When the first cached one expires: an answer made of them may not be kept longer.
      const cachedExpiry = Math.min(...lookups.map((lookup) => lookup.expiresAt));
      if (missing.length === 0) return answerFromCache(atPosition, cachedExpiry);

      const asSent = missing.length === representations.length;
      const response = await send(
        asSent
          ? request
          : { ...request, variables: { ...request.variables, representations: missing.map((l) => l.representation) } },
      );
      const fetched: unknown = response.data?._entities;
      const toOriginal = missing.map((lookup) => lookup.firstIndex);
      if (!Array.isArray(fetched) || fetched.length !== missing.length) {
        // Not an answer to these representations (the fetch failed): the gateway reports it as it would without a cache.
        return asSent ? response : { ...response, errors: atOriginalIndexes(response.errors, toOriginal) };
      }

      // Kept only from a public answer without errors, for its max-age (capped).
      const policy = cacheControlOf(response);
      const clean = !response.errors?.length;
      // An answer with errors says nothing of the selection (Apollo Server leaves such answers uncached).
      if (clean && !policy.public) uncacheable.set(selection, true);
      const maxAge = clean && policy.public ? Math.min(policy.maxAge, config.ENTITY_CACHE_MAX_AGE_SECONDS) : 0;
      fetched.forEach((entity: unknown, i) => {
        const lookup = missing[i]!;
        // A missing entity (null) is not kept: it may be created any moment, and is rare.
        const kept = maxAge > 0 && entity !== null && typeof entity === 'object';
        if (!kept && asSent) return;
        lookup.json = JSON.stringify(entity ?? null);
        if (!kept) return;
        entries.set(lookup.key, lookup.json, { ttl: maxAge * 1000 });
        stats.stores += 1;
      });
      if (asSent) return response;

      return {
        ...response,
        data: { ...response.data, _entities: parseAll(atPosition) },
        errors: atOriginalIndexes(response.errors, toOriginal),
        http: { status: response.http?.status ?? 200, headers: narrowedHeaders(response, policy, cachedExpiry) },
      };
    },
  };
}

/** One distinct representation of a fetch: its key, and its entity as JSON once found or fetched. */
interface Lookup {
  key: string;
  representation: unknown;
  /** Where it first appears in the fetch: errors of a partial fetch point there. */
  firstIndex: number;
  json: string | undefined;
  /** When the cached entity expires (Infinity: not cached). */
  expiresAt: number;
}

/** Everything in an entity's key but the catalog generation and its representation: computed once per fetch. */
function selectionKey(deployment: string, subgraph: string, caller: string, request: GatewayGraphQLRequest): string {
  const query = request.query!;
  // From the selection on: the planner names each fetch after the client's operation, whose name changes nothing.
  const selection = query.slice(query.indexOf('{'));
  const { representations: _representations, ...others } = request.variables!;
  return `${deployment}\n${subgraph}\n${caller}\n${selection}\n${JSON.stringify(others)}\n`;
}

/** Every entity of the fetch was cached: the answer the subgraph would have given, without asking it. */
function answerFromCache(atPosition: Lookup[], expiresAt: number): GatewayGraphQLResponse {
  const secondsLeft = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  return {
    data: { _entities: parseAll(atPosition) },
    // What the subgraph said of them, with the time they have left: the response's cache policy folds it in.
    http: { status: 200, headers: new ReceivedHeaders({ 'cache-control': `max-age=${secondsLeft}, public` }) },
  };
}

/** One JSON.parse for the whole list, and a copy per position: the gateway merges the next fetches into each in place. */
function parseAll(atPosition: Lookup[]): unknown[] {
  return JSON.parse(`[${atPosition.map((lookup) => lookup.json).join(',')}]`) as unknown[];
}

/** The answer's headers, its Cache-Control narrowed by the cached entities that joined it: never longer-lived than the shortest. */
function narrowedHeaders(response: GatewayGraphQLResponse, policy: CachePolicy, cachedExpiry: number): ReceivedHeaders {
  const headers = Object.fromEntries(response.http?.headers ?? []);
  if (policy.public) {
    const secondsLeft = Math.floor((cachedExpiry - Date.now()) / 1000);
    headers['cache-control'] = `max-age=${Math.max(0, Math.min(policy.maxAge, secondsLeft))}, public`;
  }
  return new ReceivedHeaders(headers);
}

/**
 * The two directives that matter here. Hand-written: Apollo's parser is
 * internal to @apollo/gateway, and a subgraph's Apollo Server writes only
 * `max-age=N, public|private` or `no-store`.
 */
interface CachePolicy {
  /** Public with a positive max-age: may be kept for anyone of the role. */
  public: boolean;
  maxAge: number;
}

function cacheControlOf(response: GatewayGraphQLResponse): CachePolicy {
  const header = response.http?.headers.get('cache-control') ?? '';
  const directives = header
    .toLowerCase()
    .split(',')
    .map((part) => part.trim());
  const maxAge = Number(directives.find((d) => d.startsWith('max-age='))?.slice('max-age='.length));
  const isPublic = directives.includes('public') && !directives.includes('no-store');
  return { public: isPublic && Number.isInteger(maxAge) && maxAge > 0, maxAge: Number.isInteger(maxAge) ? maxAge : 0 };
}

/** Errors of a fetch sent for some representations point at its own indexes: the gateway needs the original ones. */
function atOriginalIndexes(
  errors: GatewayGraphQLResponse['errors'],
  missing: number[],
): GatewayGraphQLResponse['errors'] {
  if (!errors) return errors;
  return errors.map((error) => {
    const path = error.path;
    if (!path || path[0] !== '_entities' || typeof path[1] !== 'number') return error;
    return { ...error, path: ['_entities', missing[path[1]] ?? path[1], ...path.slice(2)] };
  });
}
