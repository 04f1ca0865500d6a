import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, createBrotliCompress, createGzip, type BrotliCompress, type Gzip } from 'node:zlib';

export type Encoding = 'br' | 'gzip';

/**
 * A long-lived streamed answer (multipart, SSE, @defer): headers at once,
 * then each part written as it comes, waiting for the socket to drain before
 * the next, so a slow client holds its own buffers back instead of the
 * gateway's memory (the federated stream then ends it as fallen behind, as on
 * a WebSocket). Compressed, each part is flushed through the compressor
 * (gzip's sync flush, Brotli's flush operation): a compressor that waited for
 * more input would hold an event back until the next one.
 */
export interface StreamWriter {
  /** Resolves once the part is handed to the socket (or the client is gone). */
  write(part: string): Promise<void>;
  end(last?: string): void;
  /** True once the client went away. */
  readonly closed: boolean;
  /** Called once when the client goes away before `end()`. */
  onClose(listener: () => void): void;
}

export function startStream(
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
  encoding?: Encoding,
  status = 200,
): StreamWriter {
  let closed = false;
  let ended = false;
  const listeners: (() => void)[] = [];
  res.once('close', () => {
    closed = true;
    if (!ended) for (const listener of listeners) listener();
  });
  // Nagle would hold small parts back; headers go out at once so the client knows the stream is open.
  req.socket.setNoDelay(true);
  // Merged with what is set already (CORS's Origin), not replacing it.
  const { vary, ...rest } = headers;
  if (vary) addVary(res, vary);
  const compressor: Gzip | BrotliCompress | undefined =
    encoding === 'gzip'
      ? createGzip({ level: 6 })
      : encoding === 'br'
        ? createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
        : undefined;
  res.writeHead(status, {
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    ...rest,
    ...(encoding ? { 'content-encoding': encoding } : {}),
  });
  res.flushHeaders();
  if (compressor) {
    compressor.pipe(res);
    compressor.on('error', () => res.destroy());
  }
  const drained = (resolve: () => void) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  };
  return {
    get closed() {
      return closed;
    },
    onClose: (listener) => void listeners.push(listener),
    write: (part) =>
      new Promise<void>((resolve) => {
        if (closed || ended) return resolve();
        if (!compressor) return res.write(part) ? resolve() : drained(resolve);
        compressor.write(part);
        const flush = encoding === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH;
        compressor.flush(flush, () => (res.writableNeedDrain ? drained(resolve) : resolve()));
      }),
    end: (last) => {
      if (ended) return;
      ended = true;
      if (closed) return void compressor?.destroy();
      if (compressor) compressor.end(last);
      else res.end(last);
    },
  };
}

/** Adds to the response's Vary header. */
export function addVary(res: ServerResponse, value: string): void {
  const current = res.getHeader('vary');
  const list = new Set(
    String(current ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  );
  for (const item of value.split(',')) list.add(item.trim());
  res.setHeader('vary', [...list].join(', '));
}
