import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { HTTPGraphQLResponse } from '@apollo/server';
import { env } from '@storefront/platform/config';
import type { SharedAnswer } from '../execution/index.ts';
import { addVary, startStream, type Encoding } from './stream-writer.ts';

/**
 * Writes the gateway's answers: compressed when the client accepts it and the
 * body is worth it, with a strong ETag and 304 for answers a cache may keep.
 *
 * Compression (node:zlib): Brotli when accepted, else gzip, above
 * COMPRESSION_MIN_BYTES (below it the headers outweigh the saving). Brotli at
 * quality 4 and gzip at level 6: for answers made per request, the top
 * Brotli levels cost tens of times the CPU for a few percent. Streamed
 * answers (@defer) are compressed part by part (stream-writer.ts).
 *
 * Conditional requests: a public GET answer (caching/http-cache-headers.ts)
 * gets `ETag: "<sha256 of the body>"`, suffixed by its encoding since a strong
 * validator names exact bytes; a matching If-None-Match gets 304 and no body.
 */
export const compressionEnv = {
  COMPRESSION: env.bool(true).describe('Compress answers (gzip, Brotli) for clients that accept it.'),
  COMPRESSION_MIN_BYTES: env.int(1024, 0).describe('Smallest answer worth compressing.'),
};

export interface CompressionConfig {
  COMPRESSION: boolean;
  COMPRESSION_MIN_BYTES: number;
}

/** How an answer is compressed (exported for the compression bench, which times it alone). */
export const compressors: Record<Encoding, (body: string) => Promise<Buffer>> = {
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 4,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(body),
      },
    }),
  gzip: (body) => promisify(gzip)(body, { level: 6 }),
};

/** The encoding to answer in: Brotli, then gzip, unless refused (`;q=0`) or not offered. */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (!acceptEncoding) return undefined;
  const offered = new Map<string, number>();
  for (const item of acceptEncoding.toLowerCase().split(',')) {
    const [name, ...params] = item.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    offered.set(name!.trim(), q ? Number(q.slice(2)) : 1);
  }
  const weight = (name: string) => offered.get(name) ?? (offered.has('*') ? offered.get('*')! : 0);
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return undefined;
}

export type AnswerWriter = ReturnType<typeof answerWriter>;

export function answerWriter(config: CompressionConfig) {
  const encodingFor = (req: IncomingMessage) =>
    config.COMPRESSION ? negotiateEncoding(req.headers['accept-encoding']) : undefined;

  return {
    encodingFor,
    async write(
      req: IncomingMessage,
      res: ServerResponse,
      response: HTTPGraphQLResponse,
      sharedAnswer?: SharedAnswer,
    ): Promise<void> {
      const status = response.status ?? 200;
      const vary = response.headers.get('vary');
      for (const [key, value] of response.headers) if (key !== 'vary') res.setHeader(key, value);
      if (vary) addVary(res, vary);
      if (config.COMPRESSION) addVary(res, 'accept-encoding');

      if (response.body.kind !== 'complete') {
        // @defer: each part compressed and flushed as it comes.
        const out = startStream(req, res, {}, encodingFor(req), status);
        out.onClose(() => void (response.body as { asyncIterator: AsyncIterator<string> }).asyncIterator.return?.());
        try {
          for await (const chunk of response.body.asyncIterator) {
            await out.write(chunk);
            if (out.closed) break;
          }
        } finally {
          out.end();
        }
        return;
      }

      const text = response.body.string;
      // The shared answer's bytes only for its own text: a sharer whose answer differs is written on its own.
      const shared = sharedAnswer?.isText(text) ? sharedAnswer : undefined;
      const plain = shared ? await shared.bytes('identity', async () => Buffer.from(text)) : text;
      const size = typeof plain === 'string' ? Buffer.byteLength(plain) : plain.length;
      const encoding = size >= config.COMPRESSION_MIN_BYTES ? encodingFor(req) : undefined;
      const cacheable =
        req.method === 'GET' && status === 200 && /^public\b/.test(response.headers.get('cache-control') ?? '');
      if (cacheable) {
        const makeTag = () =>
          `"${createHash('sha256').update(text).digest('base64url')}${encoding ? `-${encoding}` : ''}"`;
        const tag = shared ? shared.tag(encoding ?? 'identity', makeTag) : makeTag();
        res.setHeader('etag', tag);
        if (matches(req.headers['if-none-match'], tag)) {
          res.statusCode = 304;
          res.removeHeader('content-type');
          res.end();
          return;
        }
      }
      res.statusCode = status;
      if (!encoding) {
        res.end(plain);
        return;
      }
      const compress = () => compressors[encoding](text);
      const body = await (shared ? shared.bytes(encoding, compress) : compress());
      res.setHeader('content-encoding', encoding);
      res.setHeader('content-length', body.length);
      res.end(body);
    },
  };
}

/** If-None-Match: a list of entity tags (weak ones compare by their opaque part), or `*`. */
function matches(ifNoneMatch: string | undefined, tag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const value = candidate.trim();
    return value === '*' || value.replace(/^W\//, '') === tag;
  });
}
