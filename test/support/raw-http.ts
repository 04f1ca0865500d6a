import { connect, type Socket } from 'node:net';

/**
 * HTTP at the byte level, for requests no HTTP client will send (a malformed
 * request line, an invalid target, a header flood) and for watching how the
 * server ends the connection: a graceful close (FIN) or a reset.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  /** The first response, when one arrived complete. */
  response: RawResponse | undefined;
  /** Every byte received, as latin1 text. */
  received: string;
  /** How the connection ended: the server closed it (FIN), reset it, or neither within the time allowed. */
  ending: 'end' | 'reset' | 'open';
  /** The socket error the client saw, if any (ECONNRESET, EPIPE). */
  error: string | undefined;
}

export interface RawOptions {
  /**
   * After `request`, write this much more (e.g. the rest of an oversized body) before reading anything, as
   * a client that sends its whole request before it reads the answer does (most blocking HTTP clients).
   */
  thenSend?: { chunk: Buffer; count: number };
  /** How long to wait for the server to end the connection after its answer. @default 10000 */
  timeoutMs?: number;
  /** Leave the connection open after a complete response instead of waiting for the server to close it. */
  keepAlive?: boolean;
}

export function rawExchange(url: string, request: string | Buffer, options: RawOptions = {}): Promise<RawExchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const finish = (ending: RawExchange['ending']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const received = Buffer.concat(chunks).toString('latin1');
      socket.destroy();
      resolve({ response: parseResponse(received), received, ending, error });
    };
    const timer = setTimeout(() => finish('open'), options.timeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.keepAlive && parseResponse(Buffer.concat(chunks).toString('latin1'))) finish('open');
    });
    socket.on('end', () => finish('end'));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
      finish('reset');
    });
    const upload = options.thenSend;
    if (!upload) {
      socket.write(request);
      return;
    }
    // Nothing is read from the kernel until the upload is done: a reset in the meantime discards the answer.
    socket.pause();
    socket.write(request);
    let left = upload.count;
    const pump = () => {
      while (left > 0 && !done) {
        left--;
        if (!socket.write(upload.chunk)) return void socket.once('drain', pump);
      }
      socket.resume();
    };
    pump();
  });
}

/** A complete HTTP/1.1 response at the start of `text` (content-length, chunked, or no body), or undefined. */
export function parseResponse(text: string): RawResponse | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = text.slice(headEnd + 4);
  const status = Number(match[1]);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    let body = '';
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(rest.slice(at, lineEnd), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8') };
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  // No length and not chunked: the body runs to the end of the connection (HTTP/1.0 answers).
  const length =
    headers['content-length'] === undefined ? Buffer.byteLength(rest, 'latin1') : Number(headers['content-length']);
  if (Buffer.byteLength(rest, 'latin1') < length) return undefined;
  return { status, headers, body: Buffer.from(rest.slice(0, length), 'latin1').toString('utf8') };
}

/** The `extensions.code` of the first error of a JSON error body, if it is one. */
export function errorCode(response: RawResponse | undefined): string | undefined {
  try {
    return (JSON.parse(response?.body ?? '') as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]
      ?.extensions?.code;
  } catch {
    return undefined;
  }
}

/** The request line and headers of a WebSocket upgrade to `target`, as RFC 6455 spells them. */
export const upgradeRequest = (target: string, extraHeaders = '') =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`;
