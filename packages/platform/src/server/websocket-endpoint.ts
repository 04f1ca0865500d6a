import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logger/logger.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts';
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
      // graphql-ws registers its 'message' listener inside 'connection'; each listener registered there gets the guard.
      ws.on = guardedOn(ws, logger);
      try {
        wss.emit('connection', ws, req);
      } finally {
        delete (ws as { on?: unknown }).on;
      }
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

/** Types only a server sends: graphql-ws answers a client that sends one with a console error and 4500. */
const SERVER_ONLY_TYPES = new Set(['connection_ack', 'next', 'error']);
const SERVER_ONLY_HINT = /"type"\s*:\s*"(connection_ack|next|error)"/;

/**
 * `ws.on`, but a 'message' listener never sees a message of a type only a
 * server sends: the socket is closed with 4400 (the client's protocol error)
 * instead, as graphql-ws does for every other malformed message. graphql-ws
 * treats such a message as a bug of ours (it throws, logs to the console and
 * closes with 4500 Internal Server Error), and a client's bytes must not be
 * able to make a server report an internal error.
 */
function guardedOn(ws: WebSocket, logger: Logger): WebSocket['on'] {
  // Unbound on purpose: called below with the socket as `this`, as ws calls it.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const on = ws.on;
  // ws types every listener's arguments as any[].
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return function (this: WebSocket, event: string, listener: (...args: any[]) => void) {
    if (event !== 'message') return on.call(this, event, listener);
    return on.call(this, 'message', (data: unknown, isBinary: boolean) => {
      const text = String(data);
      // The regular expression spares the JSON parse on every ordinary message.
      if (nestsDeeperThan(text)) {
        logger.info('closed a socket that sent a message nested too deep');
        if (ws.readyState === ws.OPEN) ws.close(4400, `Message nests deeper than ${MAX_JSON_DEPTH} levels`);
        return;
      }
      if (SERVER_ONLY_HINT.test(text) && SERVER_ONLY_TYPES.has(messageType(text) ?? '')) {
        logger.info('closed a socket that sent a server-only graphql-ws message');
        if (ws.readyState === ws.OPEN) ws.close(4400, 'Unexpected message type');
        return;
      }
      listener(data, isBinary);
    });
  } as WebSocket['on'];
}

function messageType(text: string): string | undefined {
  try {
    const message = JSON.parse(text) as { type?: unknown };
    return typeof message?.type === 'string' ? message.type : undefined;
  } catch {
    return undefined;
  }
}

const socketClosed = (ws: WebSocket) =>
  new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())));
