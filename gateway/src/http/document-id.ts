import type { HTTPGraphQLRequest } from '@apollo/server';

/**
 * Persisted documents by `documentId` (the GraphQL-over-HTTP persisted
 * documents form, and Apollo's newer clients): `{ "documentId": "sha256:<hex>" }`
 * in a POST body, or `?documentId=sha256:<hex>` in a GET. Each becomes the
 * APQ extension Apollo Server already resolves (trusted documents first, then
 * APQ registrations; caching/trusted-documents.ts), so both forms share one
 * lookup, one set of errors and the same persisted-only rule. A bare
 * 64-digit hex id is taken as sha256 too.
 */
export type DocumentIdResult = { ok: true; request: HTTPGraphQLRequest } | { ok: false; message: string };

const SHA256 = /^(?:sha256:)?([0-9a-f]{64})$/;

export function resolveDocumentId(request: HTTPGraphQLRequest): DocumentIdResult {
  if (request.method === 'GET') {
    if (!request.search.includes('documentId')) return { ok: true, request };
    const params = new URLSearchParams(request.search);
    const documentId = params.get('documentId');
    if (documentId === null) return { ok: true, request };
    if (params.getAll('documentId').length > 1)
      return { ok: false, message: "The 'documentId' search parameter may only be specified once." };
    if (params.has('query')) return { ok: false, message: 'Send either documentId or query, not both' };
    const hash = hashOf(documentId);
    if (!hash) return { ok: false, message: unsupported(documentId) };
    let extensions: Record<string, unknown> = {};
    const given = params.get('extensions');
    if (given !== null) {
      try {
        extensions = JSON.parse(given) as Record<string, unknown>;
      } catch {
        return { ok: false, message: 'The extensions search parameter contains invalid JSON.' };
      }
    }
    params.delete('documentId');
    params.set('extensions', JSON.stringify({ ...extensions, persistedQuery: { version: 1, sha256Hash: hash } }));
    return { ok: true, request: { ...request, search: `?${params.toString()}` } };
  }
  const body = request.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null || !('documentId' in body)) return { ok: true, request };
  const { documentId, ...rest } = body;
  if (typeof documentId !== 'string') return { ok: false, message: 'documentId must be a string' };
  if (typeof rest.query === 'string') return { ok: false, message: 'Send either documentId or query, not both' };
  const hash = hashOf(documentId);
  if (!hash) return { ok: false, message: unsupported(documentId) };
  const extensions = typeof rest.extensions === 'object' && rest.extensions !== null ? rest.extensions : {};
  return {
    ok: true,
    request: {
      ...request,
      body: { ...rest, extensions: { ...extensions, persistedQuery: { version: 1, sha256Hash: hash } } },
    },
  };
}

const hashOf = (documentId: string) => SHA256.exec(documentId)?.[1];
const unsupported = (documentId: string) =>
  `documentId "${documentId.slice(0, 80)}" is not a sha256 document id ("sha256:" and 64 lower-case hex digits)`;
