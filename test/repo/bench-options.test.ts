import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBenchOptions } from '../../bench/options.ts';

/** `npm run bench` settings: a misconfigured bench stops before starting anything, naming the key. */
describe('benchmark settings', () => {
  it('defaults to the documented run: every gateway and query, 50 connections, alternating rounds', () => {
    const options = loadBenchOptions([], {});
    assert.equal(options.BENCH_CONNECTIONS, 50);
    assert.deepEqual(options.BENCH_GATEWAYS, ['ours-off', 'ours-on', 'ours-noshare', 'stock', 'hive']);
    assert.deepEqual(options.BENCH_QUERIES, ['a', 'b', 'c']);
    assert.ok(options.BENCH_ROUNDS >= 2);
  });

  it('takes flags over variables', () => {
    const options = loadBenchOptions(['--duration=2', '--gateways=ours-on,stock'], { BENCH_DURATION_SECONDS: '30' });
    assert.equal(options.BENCH_DURATION_SECONDS, 2);
    assert.deepEqual(options.BENCH_GATEWAYS, ['ours-on', 'stock']);
  });

  for (const [source, argv, key] of [
    [{ BENCH_CONNECTIONS: '0' }, [], 'BENCH_CONNECTIONS'],
    [{ BENCH_DURATION_SECONDS: 'ten' }, [], 'BENCH_DURATION_SECONDS'],
    [{ BENCH_GATEWAYS: 'ours-on,router' }, [], 'BENCH_GATEWAYS'],
    [{}, ['--runtime=bun'], 'BENCH_RUNTIME'],
    [{}, ['--speed=fast'], '--speed=fast'],
  ] as const) {
    it(`refuses ${JSON.stringify(source)} ${argv.join(' ')} naming ${key}`, () => {
      assert.throws(
        () => loadBenchOptions([...argv], { ...source }),
        (error: Error) => error.message.includes(key),
      );
    });
  }
});
