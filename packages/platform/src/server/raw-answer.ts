import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers on a bare socket (no ServerResponse exists yet: a request Node's
 * parser refused, an upgrade request) with the same JSON error body as every
 * other refusal, then closes the connection gracefully.
 */
export function answerOnSocket(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`),
  ];
  socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  closeGracefully(socket);
}

/** How long a closing connection keeps reading what the client still sends. */
export const LINGER_MS = 5_000;

/**
 * Closes a connection after its last answer without losing that answer.
 *
 * Destroying a socket while the client is still sending (an oversized upload,
 * the rest of an oversized header) makes the kernel answer with a reset, and a
 * reset makes the client's kernel drop whatever it has not read yet: the
 * client sees ECONNRESET instead of the answer. So, as nginx's lingering close
 * does: half-close (our FIN follows the answer), read and discard what still
 * arrives, and destroy only when the client has closed its side too, or after
 * `lingerMs`.
 */
export function closeGracefully(socket: Duplex, lingerMs = LINGER_MS): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The client has said all it will say: nothing more can arrive to be reset.
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end();
  socket.resume();
}

/**
 * Makes Node close this response's connection after the answer, gracefully
 * (see closeGracefully): on `connection: close` Node itself would destroy the
 * socket the moment the answer is flushed.
 */
export function closeConnectionAfter(res: ServerResponse): void {
  res.setHeader('connection', 'close');
  const socket = res.socket;
  if (socket) socket.destroySoon = () => closeGracefully(socket);
}
