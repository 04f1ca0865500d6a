import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A WebSocket endpoint on an existing HTTP server, at the same path as its
 * GraphQL POSTs (the gateway and every subscribing subgraph use it the same
 * way). Upgrades to other paths get 404, and 503 once closing has begun.
 */
export interface WebSocketEndpoint {
  wss: WebSocketServer;
  /** Stops new upgrades, asks open sockets to go away (1001), terminates what is left after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export function attachWebSocketEndpoint(
  server: Server,
  options: { path: string; maxPayloadBytes: number },
): WebSocketEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  let closing = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (closing || pathname !== options.path) {
      socket.end(
        `HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);

  return {
    wss,
    close: async (graceMs = 5_000) => {
      closing = true;
      server.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      const allClosed = Promise.all(open.map(socketClosed));
      for (const ws of open) ws.close(1001, 'Going away');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allClosed, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const socketClosed = (ws: WebSocket) =>
  new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())));
