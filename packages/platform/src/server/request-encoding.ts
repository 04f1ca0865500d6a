import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';

/**
 * Request bodies sent compressed (`Content-Encoding: gzip`, `deflate` or
 * `br`), as mobile apps do to save upload bytes. The size limit applies to
 * what the body expands to, counted as it is inflated, so a small "bomb"
 * that would expand to gigabytes is stopped at the limit, never held whole.
 */
export type BodyEncoding = 'gzip' | 'deflate' | 'br';

/** The request's body encoding: undefined for none (or `identity`), 'unsupported' for anything else. */
export function bodyEncodingOf(req: IncomingMessage): BodyEncoding | 'unsupported' | undefined {
  const value = req.headers['content-encoding']?.trim().toLowerCase();
  if (!value || value === 'identity') return undefined;
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate' || value === 'br') return value;
  return 'unsupported';
}

export type DecodedBody = { ok: true; text: string } | { ok: false; reason: 'too-large' | 'corrupt' };

export function readEncodedBody(req: IncomingMessage, encoding: BodyEncoding, limit: number): Promise<DecodedBody> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: DecodedBody) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    // The compressed body counts against the limit too.
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      return settle({ ok: false, reason: 'too-large' });
    }
    const inflate: Gunzip =
      encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : createBrotliDecompress();
    const chunks: Buffer[] = [];
    let size = 0;
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Stop inflating at once; the rest of the upload is read and dropped.
      req.unpipe(inflate);
      inflate.destroy();
      req.resume();
      settle({ ok: false, reason: 'too-large' });
    });
    inflate.on('end', () => settle({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    inflate.on('error', () => {
      req.unpipe(inflate);
      req.resume();
      settle({ ok: false, reason: 'corrupt' });
    });
    req.on('error', () => settle({ ok: false, reason: 'corrupt' }));
    req.pipe(inflate);
  });
}
