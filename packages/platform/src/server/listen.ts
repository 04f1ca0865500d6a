import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger/logger.ts';
import { answerOnSocket } from './raw-answer.ts';

export interface Listening {
  server: Server;
  url: string;
  port: number;
  /**
   * Starts draining: every response from now on says `Connection: close`, so keep-alive clients
   * stop reusing their connections (and open new ones, to another instance once this one is out
   * of the load balancer) before `close()` shuts them.
   */
  drain(): void;
  /** Stops accepting, lets requests in flight finish (up to `graceMs`), then closes what is left. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The one way a service opens its port. Port 0 picks a free one (tests).
 *
 * Nothing a client sends can throw out of here: a request Node's parser
 * refuses gets its 400/431/408 written before a graceful close (Node's own
 * answer is followed by a reset that can swallow it), and a handler that
 * throws costs its caller a 500, not the process.
 */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { port: number; host: string; path?: string; logger?: Logger },
): Promise<Listening> {
  const { logger } = options;
  let draining = false;
  const unanswered = new Set<ServerResponse>();
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (draining) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    try {
      handler(req, res);
    } catch (error) {
      logger?.error({ err: error, url: req.url }, 'unexpected error handling a request');
      if (!res.headersSent) answerOnSocket(req.socket, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    }
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) =>
    answerClientError(error, socket as Socket, logger),
  );
  // CONNECT (a proxy tunnel) is not a request Node hands to the handler; left alone, the socket would just be dropped.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    answerOnSocket(socket, 405, 'METHOD_NOT_ALLOWED', 'CONNECT is not served here', { allow: 'GET, POST, OPTIONS' });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${options.path ?? '/graphql'}`,
    drain: () => {
      draining = true;
      // Requests already in flight answer with it too, or their connections would stay open for reuse.
      for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    close: async (graceMs = 5_000) => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Parser errors a client can cause, and the answer each gets. */
const CLIENT_ERRORS: Record<string, [status: number, code: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'REQUEST_HEADER_FIELDS_TOO_LARGE', 'Request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive'],
  HPE_HEADERS_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request headers took too long to arrive'],
};

function answerClientError(error: NodeJS.ErrnoException, socket: Socket, logger: Logger | undefined): void {
  // A reset or a half-sent answer: nothing can be written without corrupting what the client reads.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'BAD_REQUEST', 'Malformed HTTP request'];
  logger?.info(
    { reason: error.code ?? error.message, remote: socket.remoteAddress, status },
    'refused a malformed request',
  );
  answerOnSocket(socket, status, code, message);
}
