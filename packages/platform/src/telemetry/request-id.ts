import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Request ids: every HTTP answer of the gateway and the services carries
 * `x-request-id`, the id its log lines and GraphQL errors carry too. A
 * caller's own id is kept when it is short and printable (so an app, a load
 * balancer and the gateway can share one); anything else is replaced with a
 * new one and never echoed or logged.
 */
const ACCEPTED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const ids = new WeakMap<IncomingMessage, string>();

/** The caller's id when it is acceptable, else a new one. */
export function acceptRequestId(given: unknown): string {
  return typeof given === 'string' && ACCEPTED.test(given) ? given : randomUUID();
}

/** Gives each request its id (`requestIdOf`) and sets `x-request-id` on its answer before anything else runs. */
export function withRequestId(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const id = acceptRequestId(req.headers['x-request-id']);
    ids.set(req, id);
    res.setHeader('x-request-id', id);
    handler(req, res);
  };
}

/** The id `withRequestId` gave this request (a new one for a request that did not pass through it). */
export function requestIdOf(req: IncomingMessage): string {
  let id = ids.get(req);
  if (!id) ids.set(req, (id = acceptRequestId(req.headers['x-request-id'])));
  return id;
}
