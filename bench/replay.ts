import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Subgraphs that answer from a recording, so that a gateway's own CPU per
 * request can be measured with nothing else busy on the machine.
 *
 * On a 2-core machine the real subgraphs burn more CPU per request than any
 * gateway, and the gateway's CPU time inflates (and varies by tens of per
 * cent between rounds) when it shares the cores with them. Here each
 * subgraph is fronted by a proxy that forwards the first request of each
 * kind (the same operation and variables) to the real service, keeps the
 * answer, and replays it for every later one. Once every query has been
 * asked (the warm-up), the real subgraphs can be stopped: what is left is
 * the gateway under test, the load generator, and a proxy that writes
 * stored bytes.
 *
 * What the replay leaves out is the subgraphs' work, not the gateway's: the
 * gateway still builds, signs and sends every fetch and parses and merges
 * every answer. A request the recording lacks gets a 502 (and is counted),
 * never a made-up answer. Health checks (GET /readyz) are recorded like the
 * rest: the gateway goes on seeing the subgraphs as they were.
 */
export interface ReplayingSubgraphs {
  /** The URL the gateways are routed to, per subgraph. */
  urls: Record<string, string>;
  /** Answers recorded so far (one per distinct request). */
  recorded(): number;
  /**
   * Records each subgraph's health check (GET /readyz) and, from then on,
   * refuses a request the recording lacks instead of forwarding it (the real
   * subgraphs are about to stop).
   */
  freeze(): Promise<void>;
  /** Requests refused because the recording lacked them (after `freeze`). */
  misses(): number;
  /** The first few of those, for the message that stops the bench. */
  missed(): string[];
  close(): Promise<void>;
}

interface Recording {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Request headers worth forwarding to the real subgraph (signatures, identity, request id); hop-by-hop ones are not. */
const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export async function startReplayingSubgraphs(upstreams: Record<string, string>): Promise<ReplayingSubgraphs> {
  const answers = new Map<string, Promise<Recording>>();
  let frozen = false;
  let misses = 0;
  const missed: string[] = [];
  const keyFor = (name: string, method: string, path: string, body: Buffer) =>
    `${name} ${method} ${path}\n${keyOf(body)}`;
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  for (const [name, upstream] of Object.entries(upstreams)) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const path = req.url ?? '/';
        const key = keyFor(name, req.method ?? 'POST', path, body);
        let answer = answers.get(key);
        if (!answer) {
          if (frozen) {
            misses += 1;
            if (missed.length < 3) missed.push(key.slice(0, 300));
            res.writeHead(502, { 'content-type': 'text/plain' }).end('not in the recording');
            return;
          }
          answer = forward(new URL(path, upstream).href, req.method ?? 'POST', req.headers, body);
          answers.set(key, answer);
          // A failed first attempt is not kept: the next request tries the real subgraph again.
          answer.catch(() => answers.delete(key));
        }
        answer.then(
          (recording) =>
            res
              .writeHead(recording.status, {
                'content-type': recording.contentType,
                'content-length': recording.body.length,
              })
              .end(recording.body),
          (error: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(error.message),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }
  return {
    urls,
    recorded: () => answers.size,
    freeze: async () => {
      // Gateways check subgraph health every few seconds; their first check may not have come yet.
      for (const [name, upstream] of Object.entries(upstreams)) {
        const key = keyFor(name, 'GET', '/readyz', Buffer.alloc(0));
        if (!answers.has(key)) answers.set(key, forward(new URL('/readyz', upstream).href, 'GET', {}, Buffer.alloc(0)));
        await answers.get(key);
      }
      frozen = true;
    },
    misses: () => misses,
    missed: () => [...missed],
    close: async () => {
      await Promise.all(
        servers.map((server) => {
          server.closeAllConnections();
          return new Promise<void>((done) => server.close(() => done()));
        }),
      );
    },
  };
}

/**
 * What makes two fetches the same: the operation and its variables. Anything
 * else a gateway may put in the body (extensions) is left out.
 */
function keyOf(body: Buffer): string {
  try {
    const { query, variables } = JSON.parse(body.toString('utf8')) as { query?: unknown; variables?: unknown };
    return JSON.stringify([query, variables ?? null]);
  } catch {
    return body.toString('utf8');
  }
}

async function forward(
  upstream: string,
  method: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<Recording> {
  const sent: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(header)) continue;
    sent[header] = Array.isArray(value) ? value.join(', ') : value;
  }
  const response = await fetch(upstream, { method, headers: sent, body: method === 'GET' ? undefined : body });
  const answer = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? 'application/json',
    body: answer,
  };
}
