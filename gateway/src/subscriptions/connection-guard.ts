import { decodeJwt } from 'jose';
import type WebSocket from 'ws';

/**
 * Close codes the gateway uses on client sockets. A flood gets 1013 ("try again later"), which graphql-ws
 * clients retry with their backoff: its 4429 means "too many initialisation requests" and is fatal to them
 * (they give up for good), as are 1002–1011 and 4400, 4401, 4406, 4409 and 4500.
 */
export const CLOSE = {
  unauthorized: 4401,
  tooManyMessages: 1013,
  goingAway: 1001,
} as const;

/**
 * Per-socket message budget: a token bucket refilled at `perSecond`, holding
 * at most `burst`. Every message costs one, pings included. It has to run
 * before graphql-ws sees a message, so it is attached as the socket's first
 * 'message' listener; a socket that runs dry is closed with 1013 (try again later).
 */
export function limitMessageRate(
  socket: WebSocket,
  options: { perSecond: number; burst: number; onFlood: () => void },
): void {
  let tokens = options.burst;
  let last = performance.now();
  let flooded = false;
  socket.on('message', () => {
    if (flooded) return;
    const now = performance.now();
    tokens = Math.min(options.burst, tokens + ((now - last) / 1000) * options.perSecond);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return;
    }
    flooded = true;
    options.onFlood();
    socket.close(CLOSE.tooManyMessages, 'Too many messages');
  });
}

/**
 * Closes the socket with 4401 when its access token expires: a socket lives
 * longer than the token that opened it, and must not outlive it. The token
 * was verified just before, so reading its `exp` unverified is safe here.
 * Returns the function that cancels the timer.
 */
export function closeWhenTokenExpires(socket: WebSocket, token: string): () => void {
  const { exp } = decodeJwt(token);
  if (typeof exp !== 'number') return () => {};
  // setTimeout's limit is ~24.8 days; access tokens live minutes, but never overflow into "fire now".
  const delay = Math.min(Math.max(exp * 1000 - Date.now(), 0), 2 ** 31 - 1);
  const timer = setTimeout(() => socket.close(CLOSE.unauthorized, 'Token expired'), delay);
  return () => clearTimeout(timer);
}

/** The bearer token from `connection_init`'s payload: `{ authorization: 'Bearer …' }` (or `Authorization`). */
export function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  // Anything but a string is a malformed credential (refused), not an absent one (anonymous).
  return value === undefined || value === null ? undefined : typeof value === 'string' ? value : 'malformed';
}

export const bearerToken = (authorization: string): string => authorization.trim().replace(/^Bearer\s+/i, '');
