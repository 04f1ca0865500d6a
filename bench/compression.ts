/**
 * `npm run bench:compression`: what compression costs and saves on the
 * public catalog page (query a): bytes on the wire and gateway CPU per
 * answer, sent as is, in gzip and in Brotli, as the gateway answers a client
 * (answer compression in http/respond.ts). Runs the supergraph embedded in
 * this process with the response cache on, so each request is a cache hit
 * and the CPU measured is the gateway's own (parse, cache lookup, answer,
 * compression), not the subgraphs'. Writes its section of bench/RESULTS.md.
 *
 * Fair to each encoding: all three are warmed up before anything is
 * measured, then measured in alternating rounds (each round in another
 * order), and every encoding's answer is decoded once and must equal the
 * uncompressed one, so a small body cannot come from a wrong answer.
 *
 * Measure on a quiet machine: the CPU per answer is process CPU time over
 * BENCH_COMPRESSION_REQUESTS (2000) sequential requests per encoding. A
 * script of its own, not a flag of bench/run.ts: it needs none of the peer
 * gateways that one loads.
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { QUERIES } from './queries.ts';
import { describeCommit, describeMachine } from './report.ts';
import { writeSection } from './results-file.ts';

const ENCODINGS = ['identity', 'gzip', 'br'] as const;
type Encoding = (typeof ENCODINGS)[number];

interface Row {
  encoding: Encoding;
  bytes: number;
  /** Median over the rounds. */
  cpuMsPerAnswer: number;
  /** The lowest and highest round. */
  spread: readonly [number, number];
  /** CPU of the compression alone (the gateway's compressor on this answer). */
  compressMs: number;
}

const REQUESTS = Number(process.env.BENCH_COMPRESSION_REQUESTS ?? 2000);
const ROUNDS = 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

function post(url: string, encoding: Encoding, body: string): Promise<{ bytes: Buffer; contentEncoding?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': encoding },
        agent: keepAlive,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ bytes: Buffer.concat(chunks), contentEncoding: res.headers['content-encoding'] }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function decode({ bytes, contentEncoding }: { bytes: Buffer; contentEncoding?: string }): string {
  if (contentEncoding === 'gzip') return gunzipSync(bytes).toString('utf8');
  if (contentEncoding === 'br') return brotliDecompressSync(bytes).toString('utf8');
  return bytes.toString('utf8');
}

export async function runCompressionBench(outputDir: string): Promise<Row[]> {
  // The test stack starts the four services and a gateway in this process, on embedded backends.
  const { startStack } = await import('../test/support/stack.ts');
  const stack = await startStack({ embedded: true });
  try {
    await stack.services.products.seed();
    const gateway = await stack.startGateway({ COMPRESSION: 'true', RESPONSE_CACHE: 'true', LOG_LEVEL: 'warn' });
    const body = JSON.stringify({ query: QUERIES.a.query });

    // One answer per encoding, checked: each is the same catalog, and was sent in the encoding asked for.
    const answers = new Map<Encoding, { bytes: Buffer; contentEncoding?: string }>();
    for (const encoding of ENCODINGS) answers.set(encoding, await post(gateway.url, encoding, body));
    const reference = decode(answers.get('identity')!);
    const catalog = (JSON.parse(reference) as { data?: { products?: { edges?: unknown[] } } }).data?.products?.edges;
    if (!catalog?.length || reference.includes('"errors"'))
      throw new Error(`the catalog query did not answer a catalog: ${reference.slice(0, 300)}`);
    for (const encoding of ENCODINGS) {
      const answer = answers.get(encoding)!;
      if ((answer.contentEncoding ?? 'identity') !== encoding)
        throw new Error(`asked for ${encoding}, the gateway answered in ${answer.contentEncoding ?? 'identity'}`);
      if (decode(answer) !== reference) throw new Error(`the ${encoding} answer decodes to another catalog`);
    }

    // Warm-up of every encoding (plans, the response cache entry, JIT of each path) before any measurement.
    for (let i = 0; i < 300; i += 1) for (const encoding of ENCODINGS) await post(gateway.url, encoding, body);
    // CPU per answer in each round, per encoding: the median is reported, with the spread.
    const perAnswer = new Map<Encoding, number[]>(ENCODINGS.map((e) => [e, []]));
    const perRound = Math.ceil(REQUESTS / ROUNDS);
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = ENCODINGS.map((_, i) => ENCODINGS[(i + round) % ENCODINGS.length]!);
      for (const encoding of order) {
        const before = process.cpuUsage();
        for (let i = 0; i < perRound; i += 1) await post(gateway.url, encoding, body);
        const used = process.cpuUsage(before);
        perAnswer.get(encoding)!.push((used.user + used.system) / 1000 / perRound);
      }
    }
    // The compression alone, as the gateway does it (its own compressors), on this answer.
    const { answerCompressors } = await import('@storefront/gateway');
    const compressMs = new Map<Encoding, number>([['identity', 0]]);
    for (const encoding of ['gzip', 'br'] as const) {
      for (let i = 0; i < 100; i += 1) await answerCompressors[encoding](reference);
      const before = process.cpuUsage();
      for (let i = 0; i < REQUESTS; i += 1) await answerCompressors[encoding](reference);
      const used = process.cpuUsage(before);
      compressMs.set(encoding, (used.user + used.system) / 1000 / REQUESTS);
    }
    const rows: Row[] = ENCODINGS.map((encoding) => ({
      encoding,
      bytes: answers.get(encoding)!.bytes.length,
      cpuMsPerAnswer: median(perAnswer.get(encoding)!),
      spread: [Math.min(...perAnswer.get(encoding)!), Math.max(...perAnswer.get(encoding)!)] as const,
      compressMs: compressMs.get(encoding)!,
    }));
    for (const r of rows)
      process.stdout.write(
        `${r.encoding.padEnd(8)} ${String(r.bytes).padStart(7)} bytes  ${r.cpuMsPerAnswer.toFixed(3)} ms CPU/answer, of which compressing ${r.compressMs.toFixed(3)} ms\n`,
      );

    const machine = describeMachine();
    const commit = describeCommit(join(outputDir, '..'));
    const identity = rows[0]!;
    const signed = (n: number) => (n >= 0 ? '+' : '') + n.toFixed(3);
    writeSection(
      join(outputDir, 'RESULTS.md'),
      'compression',
      [
        '## Compression of the catalog page (query a)',
        '',
        `- **Date:** ${new Date().toISOString().slice(0, 10)}; **machine:** ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; **commit:** \`${commit.sha}\`${commit.dirty ? ' (with uncommitted changes)' : ''}`,
        `- \`npm run bench:compression\`: ${perRound * ROUNDS} sequential response-cache hits per encoding in ${ROUNDS} alternating rounds, after a warm-up of each;`,
        "  CPU per answer is the whole process's (the gateway, the client, the idle subgraphs): compressing costs the gateway, but fewer bytes to write and read cost both ends less.",
        '  "Compressing" is the gateway\'s own compressor (Brotli quality 4, gzip level 6) on this answer, timed apart: what compression alone costs per answer.',
        "  Rounds on a shared virtual machine vary widely: where two medians differ by less than their ranges, the difference is noise, and the compressor's own cost is the figure to plan with.",
        `- Each answer decodes to the same ${catalog.length}-product catalog. It compresses this well because the products repeat the same fields and demo texts.`,
        '',
        '| encoding | bytes | vs identity | CPU ms/answer, median (range over rounds) | vs identity | compressing, ms |',
        '|---|---:|---:|---:|---:|---:|',
        ...rows.map(
          (r) =>
            `| ${r.encoding} | ${r.bytes} | ${((r.bytes / identity.bytes) * 100).toFixed(0)}% | ${r.cpuMsPerAnswer.toFixed(3)} (${r.spread[0].toFixed(3)}–${r.spread[1].toFixed(3)}) | ${signed(r.cpuMsPerAnswer - identity.cpuMsPerAnswer)} | ${r.compressMs.toFixed(3)} |`,
        ),
      ].join('\n'),
    );
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
