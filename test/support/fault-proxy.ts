import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the proxy does with one GraphQL POST:
 * - `pass`: forwards it to the real subgraph and relays the answer;
 * - `503`, `502`, `504`: answers that status without forwarding;
 * - `hang`: accepts it and never answers;
 * - `reset`: destroys the connection without answering, without forwarding;
 * - `reset-after`: forwards it (the subgraph runs it), then destroys the
 *   connection instead of relaying the answer: a lost answer.
 */
export type FaultMode = 'pass' | 503 | 502 | 504 | 'hang' | 'reset' | 'reset-after';

export interface FaultProxy {
  /** The URL to give the gateway (SUBGRAPH_URL_<NAME>). */
  url: string;
  /** What the next POSTs meet, in order; once empty, `mode`. */
  script: FaultMode[];
  /** What a POST meets when the script is empty. */
  mode: FaultMode;
  /** POSTs received so far, with what each met and the operation kind the gateway sent. */
  received: { mode: FaultMode; kind: 'query' | 'mutation' }[];
  close(): Promise<void>;
}

/**
 * A subgraph with faults: an HTTP proxy in front of a real subgraph process
 * that fails the POSTs it is told to, as a crashed, overloaded or restarting
 * instance (or a load balancer before it) would. Other requests (JWKS,
 * /readyz) are always forwarded. Bodies go byte for byte: the gateway signs
 * them.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const proxy: FaultProxy = { url: '', script: [], mode: 'pass', received: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let mode: FaultMode = 'pass';
      if (req.method === 'POST') {
        mode = proxy.script.shift() ?? proxy.mode;
        const query = (JSON.parse(body.toString('utf8')) as { query: string }).query;
        // The gateway's fetches start with their operation kind; a query's may omit it.
        proxy.received.push({ mode, kind: /^\s*mutation\b/.test(query) ? 'mutation' : 'query' });
      }
      if (typeof mode === 'number')
        return res.writeHead(mode, { 'content-type': 'text/plain' }).end('upstream unavailable');
      if (mode === 'hang') return;
      if (mode === 'reset') return req.socket.destroy();
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
      ) as Record<string, string>;
      try {
        const upstream = await fetch(new URL(req.url ?? '/', target), {
          method: req.method,
          headers,
          body: req.method === 'POST' ? body : undefined,
        });
        const text = await upstream.text();
        if (mode === 'reset-after') return req.socket.destroy();
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      } catch {
        req.socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}

/** Writes a traffic-shaping file (TRAFFIC_SHAPING_CONFIG) for a test; YAML reads JSON as it is. */
export function trafficFile(settings: Record<string, unknown>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'traffic-')), 'traffic.yaml');
  writeFileSync(path, JSON.stringify(settings, null, 2));
  return path;
}
