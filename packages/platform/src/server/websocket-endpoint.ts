import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logger/logger.ts';
import { answerOnSocket } from './raw-answer.ts';
import { parseRequestTarget } from './request-target.ts';

/**
 * A WebSocket endpoint on an existing HTTP server, at the same path as its
 * GraphQL POSTs (the gateway and every subscribing subgraph use it the same
 * way). Upgrades to other paths get 404, and 503 once closing has begun; a
 * request target that is not a valid one gets 400, and a handshake ws refuses
 * (a missing key, a wrong version) gets 400, or 405 for a method other than GET.
 *
 * Nothing a client sends can throw out of here: Node emits 'upgrade' outside
 * any request handler, so an exception would end the process.
 */
export interface WebSocketEndpoint {
  wss: WebSocketServer;
  /** Stops new upgrades, asks open sockets to reconnect (1012 Service Restart, which clients retry), terminates what is left after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export function attachWebSocketEndpoint(
  server: Server,
  options: { path: string; maxPayloadBytes: number; logger: Logger },
): WebSocketEndpoint {
  const { logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  let closing = false;

  wss.on('wsClientError', (error: Error, socket: Duplex, req: IncomingMessage) => {
    logger.info({ reason: error.message, remote: req.socket.remoteAddress }, 'refused a WebSocket handshake');
    const status = error.message === 'Invalid HTTP method' ? 405 : 400;
    answerOnSocket(socket, status, 'BAD_REQUEST', `Invalid WebSocket handshake: ${error.message}`);
  });

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over without an error listener; a reset must not become an uncaught 'error'.
    socket.on('error', (error) => {
      logger.debug({ err: error, remote: req.socket.remoteAddress }, 'upgrade socket error');
      socket.destroy();
    });
    const target = parseRequestTarget(req.url);
    if (!target) {
      logger.info({ remote: req.socket.remoteAddress }, 'refused an upgrade with a malformed request target');
      return answerOnSocket(socket, 400, 'BAD_REQUEST', 'Malformed request target');
    }
    if (closing) return answerOnSocket(socket, 503, 'SERVICE_UNAVAILABLE', 'The server is shutting down');
    if (target.pathname !== options.path) return answerOnSocket(socket, 404, 'NOT_FOUND', 'No WebSocket endpoint here');
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      // After every 'connection' listener (graphql-ws's among them): ws has already closed the socket with
      // the right code for a client's protocol error (1009 too big, 1002, 1007 bad UTF-8), which graphql-ws
      // would report as an internal error of ours. A warning, and the only listener, so one always exists.
      ws.removeAllListeners('error');
      ws.on('error', (error) => logger.warn({ err: error, remote: req.socket.remoteAddress }, 'client socket error'));
    });
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (error) {
      logger.error({ err: error, remote: req.socket.remoteAddress }, 'unexpected error handling an upgrade');
      socket.destroy();
    }
  };
  server.on('upgrade', onUpgrade);

  return {
    wss,
    close: async (graceMs = 5_000) => {
      closing = true;
      server.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      const allClosed = Promise.all(open.map(socketClosed));
      for (const ws of open) ws.close(1012, 'Service restart');
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
