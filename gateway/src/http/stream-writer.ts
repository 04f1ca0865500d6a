import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A long-lived streamed answer (multipart or SSE): headers at once, then each
 * part written as it comes, waiting for the socket to drain before the next,
 * so a slow client holds its own buffers back instead of the gateway's memory
 * (the federated stream then ends it as fallen behind, as on a WebSocket).
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

export function startStream(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): StreamWriter {
  let closed = false;
  let ended = false;
  const listeners: (() => void)[] = [];
  res.once('close', () => {
    closed = true;
    if (!ended) for (const listener of listeners) listener();
  });
  // Nagle would hold small parts back; headers go out at once so the client knows the stream is open.
  req.socket.setNoDelay(true);
  res.writeHead(200, { 'cache-control': 'no-store', 'x-accel-buffering': 'no', ...headers });
  res.flushHeaders();
  return {
    get closed() {
      return closed;
    },
    onClose: (listener) => void listeners.push(listener),
    write: (part) =>
      new Promise<void>((resolve) => {
        if (closed || ended) return resolve();
        if (res.write(part)) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    end: (last) => {
      if (ended) return;
      ended = true;
      if (!closed) res.end(last);
    },
  };
}
