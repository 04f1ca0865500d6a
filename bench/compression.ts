/**
 * `npm run bench:compression`: what compression costs and saves on the
 * public catalog page (query a): bytes on the wire and gateway CPU per
 * answer, sent as is, in gzip and in Brotli, as the gateway answers a client
 * (answer compression in http/respond.ts). Runs the supergraph embedded in
 * this process with the response cache on, so each request is a cache hit
 * and the CPU measured is the gateway's own (parse, cache lookup, answer,
 * compression), not the subgraphs'. Appends a section to bench/RESULTS.md.
 *
 * Measure on a quiet machine: the CPU per answer is process CPU time over
 * BENCH_COMPRESSION_REQUESTS (2000) sequential requests per encoding. A
 * script of its own, not a flag of bench/run.ts: it needs none of the peer
 * gateways that one loads.
 */
import { appendFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUERIES } from './queries.ts';

interface Row {
  encoding: string;
  bytes: number;
  cpuMsPerAnswer: number;
}

const REQUESTS = Number(process.env.BENCH_COMPRESSION_REQUESTS ?? 2000);

function fetchRaw(url: string, encoding: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': encoding },
        agent: keepAlive,
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

export async function runCompressionBench(outputDir: string): Promise<Row[]> {
  // The test stack starts the four services and a gateway in this process, on embedded backends.
  const { startStack } = await import('../test/support/stack.ts');
  const stack = await startStack({ embedded: true });
  try {
    await stack.services.products.seed();
    const gateway = await stack.startGateway({ COMPRESSION: 'true', RESPONSE_CACHE: 'true', LOG_LEVEL: 'warn' });
    const body = JSON.stringify({ query: QUERIES.a.query });
    const rows: Row[] = [];
    for (const encoding of ['identity', 'gzip', 'br']) {
      // Warm-up: plans, the response cache entry, JIT.
      for (let i = 0; i < 200; i += 1) await fetchRaw(gateway.url, encoding, body);
      const bytes = await fetchRaw(gateway.url, encoding, body);
      const before = process.cpuUsage();
      for (let i = 0; i < REQUESTS; i += 1) await fetchRaw(gateway.url, encoding, body);
      const used = process.cpuUsage(before);
      rows.push({ encoding, bytes, cpuMsPerAnswer: (used.user + used.system) / 1000 / REQUESTS });
      process.stdout.write(
        `${encoding.padEnd(8)} ${String(bytes).padStart(7)} bytes  ${rows.at(-1)!.cpuMsPerAnswer.toFixed(3)} ms CPU/answer\n`,
      );
    }
    const identity = rows[0]!;
    const lines = [
      '',
      `## Compression of the catalog page (query a), ${new Date().toISOString().slice(0, 10)}`,
      '',
      `\`npm run bench -- --compression\` on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version};`,
      `${REQUESTS} sequential response-cache hits per encoding, CPU of the whole process (gateway, client and idle subgraphs).`,
      '',
      '| encoding | bytes | vs identity | CPU ms/answer | vs identity |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.encoding} | ${r.bytes} | ${((r.bytes / identity.bytes) * 100).toFixed(0)}% | ${r.cpuMsPerAnswer.toFixed(3)} | ${(r.cpuMsPerAnswer - identity.cpuMsPerAnswer >= 0 ? '+' : '') + (r.cpuMsPerAnswer - identity.cpuMsPerAnswer).toFixed(3)} |`,
      ),
      '',
    ];
    appendFileSync(join(outputDir, 'RESULTS.md'), lines.join('\n'));
    return rows;
  } finally {
    keepAlive.destroy();
    await stack.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runCompressionBench(fileURLToPath(new URL('.', import.meta.url)));
  process.exit(0);
}
