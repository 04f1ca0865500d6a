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

  it('--mix: the realistic mix over ours as shipped and both peers, with at least 1,000 customers by default', () => {
    const options = loadBenchOptions(['--mix'], {});
    assert.equal(options.BENCH_MIX, true);
    assert.ok(options.BENCH_MIX_CUSTOMERS >= 1000);
    assert.deepEqual(options.BENCH_GATEWAYS, ['ours-on', 'stock', 'hive']);
    assert.ok(options.BENCH_MIX_PLACE_ORDER_PERCENT >= 3 && options.BENCH_MIX_PLACE_ORDER_PERCENT <= 5);
    assert.equal(options.BENCH_MIX_P99_MS, 100);
    // Gateways chosen explicitly stay as chosen.
    assert.deepEqual(loadBenchOptions(['--mix', '--gateways=ours-off,hive'], {}).BENCH_GATEWAYS, ['ours-off', 'hive']);
  });

  // Impossible mixes are refused before anything starts, naming the flag as typed and its variable.
  for (const [argv, key, flag] of [
    [['--mix', '--customers=0'], 'BENCH_MIX_CUSTOMERS', '--customers'],
    [['--mix', '--customers=many'], 'BENCH_MIX_CUSTOMERS', '--customers'],
    [['--mix', '--place-order-percent=120'], 'BENCH_MIX_PLACE_ORDER_PERCENT', '--place-order-percent'],
    [['--mix', '--place-order-percent=-1'], 'BENCH_MIX_PLACE_ORDER_PERCENT', '--place-order-percent'],
    [
      ['--mix', '--place-order-percent=60', '--pay-percent=50'],
      'BENCH_MIX_PLACE_ORDER_PERCENT',
      '--place-order-percent',
    ],
    [['--mix', '--rate=0'], 'BENCH_MIX_START_RATE', '--rate'],
    [['--mix', '--rate=-5'], 'BENCH_MIX_START_RATE', '--rate'],
    [['--mix', '--rate=900', '--max-rate=100'], 'BENCH_MIX_START_RATE', '--rate'],
    [['--mix', '--max-rate=0'], 'BENCH_MIX_MAX_RATE', '--max-rate'],
    [['--mix', '--step-seconds=0'], 'BENCH_MIX_STEP_SECONDS', '--step-seconds'],
    [['--mix', '--p99-ms=0'], 'BENCH_MIX_P99_MS', '--p99-ms'],
    [['--mix', '--precision=1'], 'BENCH_MIX_PRECISION', '--precision'],
    [['--mix', '--zipf=0'], 'BENCH_MIX_ZIPF', '--zipf'],
    [['--mix', '--products=10', '--categories=20'], 'BENCH_MIX_CATEGORIES', '--categories'],
    [['--mix', '--customers=5', '--open-subscriptions=10'], 'BENCH_MIX_OPEN_SUBSCRIPTIONS', '--open-subscriptions'],
    [['--mix', '--profile'], 'BENCH_PROFILE', '--profile'],
  ] as const) {
    it(`refuses ${argv.join(' ')} naming ${flag}`, () => {
      assert.throws(
        () => loadBenchOptions([...argv], {}),
        (error: Error) => error.message.includes(key) && error.message.includes(flag),
      );
    });
  }

  it("--subscriptions: 10,000 subscriptions by default, a few per socket, within the gateway's per-socket limit", () => {
    const options = loadBenchOptions(['--subscriptions'], {});
    assert.equal(options.BENCH_SUBSCRIPTIONS, true);
    assert.equal(options.BENCH_SUBS_TOTAL, 10_000);
    assert.ok(options.BENCH_SUBS_PER_SOCKET >= 2 && options.BENCH_SUBS_PER_SOCKET <= 20);
    assert.ok(options.BENCH_SUBS_SECONDS >= 60);
    const small = loadBenchOptions(
      ['--subscriptions', '--subscription-count=400', '--per-socket=5', '--event-rate=20'],
      {},
    );
    assert.deepEqual([small.BENCH_SUBS_TOTAL, small.BENCH_SUBS_PER_SOCKET, small.BENCH_SUBS_EVENT_RATE], [400, 5, 20]);
  });

  // Impossible subscription runs are refused before anything starts, naming the flag as typed and its variable.
  for (const [argv, key, flag] of [
    [['--subscriptions', '--subscription-count=0'], 'BENCH_SUBS_TOTAL', '--subscription-count'],
    [['--subscriptions', '--subscription-count=lots'], 'BENCH_SUBS_TOTAL', '--subscription-count'],
    [['--subscriptions', '--per-socket=0'], 'BENCH_SUBS_PER_SOCKET', '--per-socket'],
    [['--subscriptions', '--per-socket=21'], 'BENCH_SUBS_PER_SOCKET', '--per-socket'],
    [['--subscriptions', '--subscription-count=3', '--per-socket=4'], 'BENCH_SUBS_PER_SOCKET', '--per-socket'],
    [['--subscriptions', '--event-rate=0'], 'BENCH_SUBS_EVENT_RATE', '--event-rate'],
    [['--subscriptions', '--event-rate=-1'], 'BENCH_SUBS_EVENT_RATE', '--event-rate'],
    [['--subscriptions', '--subscription-count=100', '--event-rate=500'], 'BENCH_SUBS_EVENT_RATE', '--event-rate'],
    [['--subscriptions', '--event-seconds=0'], 'BENCH_SUBS_SECONDS', '--event-seconds'],
    [['--subscriptions', '--idle-seconds=-1'], 'BENCH_SUBS_IDLE_SECONDS', '--idle-seconds'],
    [['--subscriptions', '--mix'], 'BENCH_SUBSCRIPTIONS', '--subscriptions'],
    [['--subscriptions', '--profile'], 'BENCH_PROFILE', '--profile'],
    [['--subscriptions', '--gateways=ours-on,stock'], 'BENCH_GATEWAYS', '--gateways'],
  ] as const) {
    it(`refuses ${argv.join(' ')} naming ${flag}`, () => {
      assert.throws(
        () => loadBenchOptions([...argv], {}),
        (error: Error) => error.message.includes(key) && error.message.includes(flag),
      );
    });
  }
});
