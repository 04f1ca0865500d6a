import { createHash } from 'node:crypto';
import type { HTTPGraphQLRequest } from '@apollo/server';

/**
 * The automatic-persisted-query extension, checked before Apollo Server sees
 * the request. Apollo Server refuses both cases below too, but with no error
 * code, so error masking would have to recognise its messages; here each gets
 * its code and a 400:
 *
 *   a version other than 1, or an extension that is not an object
 *     → PERSISTED_QUERY_NOT_SUPPORTED (on which Apollo clients go back to sending the text)
 *   a `sha256Hash` that is not the hash of the query it came with — the
 *   client's mistake, or an attempt to store another query under a hash other
 *   clients will ask for
 *     → PERSISTED_QUERY_HASH_MISMATCH (Apollo Router's code)
 */
export interface PersistedQueryRefusal {
  code: 'PERSISTED_QUERY_NOT_SUPPORTED' | 'PERSISTED_QUERY_HASH_MISMATCH';
  message: string;
}

export function persistedQueryRefusal(request: HTTPGraphQLRequest): PersistedQueryRefusal | undefined {
  const sent = querySent(request);
  if (!sent || typeof sent.extensions !== 'object' || sent.extensions === null) return undefined;
  if (!('persistedQuery' in sent.extensions)) return undefined;
  const { persistedQuery } = sent.extensions;
  if (
    typeof persistedQuery !== 'object' ||
    persistedQuery === null ||
    !('version' in persistedQuery) ||
    persistedQuery.version !== 1
  )
    return { code: 'PERSISTED_QUERY_NOT_SUPPORTED', message: 'Unsupported persisted query version' };
  const hash = 'sha256Hash' in persistedQuery ? persistedQuery.sha256Hash : undefined;
  if (typeof sent.query !== 'string' || typeof hash !== 'string') return undefined;
  return createHash('sha256').update(sent.query).digest('hex') === hash
    ? undefined
    : { code: 'PERSISTED_QUERY_HASH_MISMATCH', message: 'provided sha does not match query' };
}

/** The query text and extensions as sent, in a POST body or a GET's search parameters. */
function querySent(request: HTTPGraphQLRequest): { query: unknown; extensions: unknown } | undefined {
  if (request.method !== 'GET') {
    const body = request.body as { query?: unknown; extensions?: unknown } | null | undefined;
    return typeof body === 'object' && body !== null ? { query: body.query, extensions: body.extensions } : undefined;
  }
  if (!request.search.includes('persistedQuery')) return undefined;
  const params = new URLSearchParams(request.search);
  try {
    return { query: params.get('query'), extensions: JSON.parse(params.get('extensions') ?? 'null') };
  } catch {
    return undefined; // Apollo Server answers malformed extensions itself (BAD_REQUEST).
  }
}
