import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

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

/** The one way a service opens its port. Port 0 picks a free one (tests). */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { port: number; host: string; path?: string },
): Promise<Listening> {
  let draining = false;
  const unanswered = new Set<ServerResponse>();
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (draining) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    handler(req, res);
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
