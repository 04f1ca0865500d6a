import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLRequest,
  type HTTPGraphQLResponse,
} from '@apollo/server';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts';
import { closeConnectionAfter } from './raw-answer.ts';
import { bodyEncodingOf, readEncodedBody } from './request-encoding.ts';
import { parseRequestTarget } from './request-target.ts';

/**
 * Serves an ApolloServer on Node's own `http` module.
 *
 * Why not Express: the gateway and the subgraphs need nothing from a web
 * framework but a body and headers, and every layer costs CPU on every
 * request (DESIGN §2). This is the whole adapter: read the body within a
 * limit, hand it to Apollo, write the answer (streamed for @defer).
 */
export interface GraphQLHttpOptions<TContext extends BaseContext> {
  /** Path that serves GraphQL. @default '/graphql' */
  path?: string;
  /** Larger bodies get 413 before any parsing. @default 1 MiB */
  maxBodyBytes?: number;
  /**
   * Builds the per-request context from the request and its raw body. May
   * reject a request outright (e.g. a bad signature) by returning a
   * `{ status, code, message }` refusal, before GraphQL parsing happens.
   */
  context: (req: IncomingMessage, rawBody: string) => Promise<TContext | Refusal>;
  /** Other routes (health checks, JWKS); return true when handled. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /**
   * Browser origins allowed to call the endpoint from another origin (CORS);
   * `*` allows any. Absent or empty: no CORS headers at all and preflights are
   * not answered, so browsers keep other origins out (no per-request work).
   */
  corsOrigins?: readonly string[];
  /** Told of each answer the adapter gives itself (404, 413, bad JSON, a refused context): metrics. */
  onRefusal?: (status: number, code: string) => void;
  /**
   * Takes each request from here, once its body is read and its context
   * built, and answers it (the gateway's persisted ids, subscriptions over
   * HTTP, cache headers, compression). Default: `execute`, then `writeResponse`.
   */
  exchange?: (exchange: GraphQLExchange<TContext>) => Promise<void>;
}

export interface GraphQLExchange<TContext extends BaseContext> {
  req: IncomingMessage;
  res: ServerResponse;
  request: HTTPGraphQLRequest;
  context: TContext;
  /** Runs a request through the ApolloServer with this exchange's context. */
  execute(request: HTTPGraphQLRequest): Promise<HTTPGraphQLResponse>;
}

export interface Refusal {
  refused: true;
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

export const refuse = (status: number, code: string, message: string, headers?: Record<string, string>): Refusal => ({
  refused: true,
  status,
  code,
  message,
  ...(headers ? { headers } : {}),
});

const isRefusal = (value: unknown): value is Refusal =>
  typeof value === 'object' && value !== null && (value as Refusal).refused === true;

export function graphqlHttpHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  options: GraphQLHttpOptions<TContext>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const path = options.path ?? '/graphql';
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const cors = options.corsOrigins?.length ? corsPolicy(options.corsOrigins) : undefined;
  const refuseWith = (
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers?: Record<string, string>,
  ) => {
    options.onRefusal?.(status, code);
    sendError(res, status, code, message, headers);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.routes) {
      const routed = options.routes(req, res);
      // Only a route that is asynchronous costs an await.
      if (routed === true || (routed !== false && (await routed))) return;
    }
    const target = parseRequestTarget(req.url);
    if (!target) {
      closeConnectionAfter(res);
      return refuseWith(res, 400, 'BAD_REQUEST', 'Malformed request target');
    }
    const { pathname, search } = target;
    if (pathname !== path) return refuseWith(res, 404, 'NOT_FOUND', `No route for ${pathname}`);
    if (cors && cors(req, res)) return;

    // Compressed uploads: the limit is on the inflated size (request-encoding.ts).
    const encoding = bodyEncodingOf(req);
    if (encoding === 'unsupported')
      return refuseWith(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding must be gzip, deflate, br or identity');
    const decoded = encoding ? await readEncodedBody(req, encoding, maxBodyBytes) : undefined;
    if (decoded?.ok === false && decoded.reason === 'corrupt')
      return refuseWith(res, 400, 'BAD_REQUEST', `Request body is not valid ${encoding} data`);
    const body = decoded ? (decoded.ok ? decoded.text : undefined) : await readBody(req, maxBodyBytes);
    if (body === undefined) {
      // Answer at once, then close without a reset, so a client still uploading reads the 413 (raw-answer.ts).
      closeConnectionAfter(res);
      return refuseWith(res, 413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBodyBytes} bytes`);
    }

    const context = await options.context(req, body);
    if (isRefusal(context)) return refuseWith(res, context.status, context.code, context.message, context.headers);

    // Apollo wants a HeaderMap (lower-case keys; CSRF and content negotiation read it).
    // Node has already joined repeated headers, so one pass over its object is all it takes.
    const incoming = req.headers;
    const headers = new HeaderMap();
    for (const key in incoming) {
      const value = incoming[key];
      if (value !== undefined) headers.set(key, typeof value === 'string' ? value : value.join(', '));
    }
    if (nestsDeeperThan(body) || (search.length > 1 && queryParametersNestTooDeep(search)))
      return refuseWith(res, 400, 'BAD_REQUEST', `Request JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    let parsedBody: unknown = body;
    if (req.method === 'POST' && (incoming['content-type'] ?? '').includes('json')) {
      try {
        parsedBody = body.length ? JSON.parse(body) : undefined;
      } catch {
        return refuseWith(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
      }
    }
    const request: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search, body: parsedBody };
    const execute = (httpGraphQLRequest: HTTPGraphQLRequest) =>
      server.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: async () => context });
    if (options.exchange) return options.exchange({ req, res, request, context, execute });
    await writeResponse(res, await execute(request));
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only a bug gets here; never show it to the client.
      if (!res.headersSent) sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy(error as Error);
    });
  };
}

/**
 * Headers a browser may send cross-origin: the token, JSON, Apollo's CSRF-prevention headers, and the
 * app's name and version that Apollo Client sends (client awareness).
 */
const CORS_ALLOW_HEADERS =
  'authorization, content-type, content-encoding, apollo-require-preflight, x-apollo-operation-name, x-request-id, apollographql-client-name, apollographql-client-version';
const CORS_EXPOSE_HEADERS = 'retry-after, x-request-id';

/**
 * CORS for the configured origins. Adds the headers to every request from
 * an allowed origin and answers preflights itself (true: answered). Hand-written
 * because it is a dozen lines on Node's own http (the `cors` package is an
 * Express middleware); no cookies are used, so credentials are never allowed.
 */
function corsPolicy(origins: readonly string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const anyOrigin = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    // Answers differ by Origin: shared caches must key on it.
    res.setHeader('vary', 'Origin');
    const permitted = origin !== undefined && (anyOrigin || allowed.has(origin));
    if (permitted) {
      res.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    }
    if (req.method !== 'OPTIONS') return false;
    // A preflight: from an allowed origin it gets the methods and headers; from any other, nothing to go on.
    if (permitted) {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader('access-control-allow-headers', CORS_ALLOW_HEADERS);
      res.setHeader('access-control-max-age', '600');
    }
    res.writeHead(204);
    res.end();
    return true;
  };
}

/** GET requests carry their variables and extensions as JSON in the query string. */
function queryParametersNestTooDeep(search: string): boolean {
  const parameters = new URLSearchParams(search);
  return ['variables', 'extensions'].some((name) => nestsDeeperThan(parameters.get(name) ?? ''));
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    // Over the limit: the rest of the body is read and dropped (not left unread), until the connection closes.
    const tooLarge = () => {
      req.removeAllListeners('data');
      req.resume();
      resolve(undefined);
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge();
      else chunks.push(chunk);
    });
    // Most GraphQL bodies arrive in one chunk: decode it without concatenating.
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

export async function writeResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
