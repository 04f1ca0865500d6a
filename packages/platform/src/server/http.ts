import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';

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

  return (req, res) => {
    void (async () => {
      if (options.routes && (await options.routes(req, res))) return;
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== path) return sendError(res, 404, 'NOT_FOUND', `No route for ${url.pathname}`);

      const body = await readBody(req, maxBodyBytes);
      if (body === undefined) {
        // Answer, then close: reading the rest of an oversized upload would only waste bandwidth.
        sendError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${maxBodyBytes} bytes`, { connection: 'close' });
        res.once('finish', () => req.destroy());
        return;
      }

      const context = await options.context(req, body);
      if (isRefusal(context)) return sendError(res, context.status, context.code, context.message, context.headers);

      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      let parsedBody: unknown = body;
      if (req.method === 'POST' && (headers.get('content-type') ?? '').includes('json')) {
        try {
          parsedBody = body.length ? JSON.parse(body) : undefined;
        } catch {
          return sendError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
        }
      }
      const response = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body: parsedBody },
        context: async () => context,
      });
      await writeResponse(res, response);
    })().catch((error: unknown) => {
      // Only a bug gets here; never show it to the client.
      if (!res.headersSent) sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy(error as Error);
    });
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return resolve(undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function writeResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
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
