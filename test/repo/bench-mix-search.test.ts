import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StepResult } from '../../bench/mix/load.ts';
import { searchSustainedRate } from '../../bench/mix/search.ts';
import { weighted, zipf, seededRandom } from '../../bench/mix/random.ts';

/** A gateway that holds every rate up to `capacity` (and fails `flaky` steps once each, as a busy machine does). */
function gateway(capacity: number, flaky: number[] = []) {
  const tried: number[] = [];
  const runAt = (rate: number): Promise<StepResult> => {
    tried.push(rate);
    const stall = flaky.includes(rate) && tried.filter((r) => r === rate).length === 1;
    return Promise.resolve({ rate, sustained: rate <= capacity && !stall } as StepResult);
  };
  return { runAt, tried };
}

describe('bench --mix: the search for the highest sustained rate', () => {
  const settings = { start: 50, max: 5000, precision: 0.1, maxSteps: 16 };

  it('finds the capacity within the precision: doubling, then bisecting', async () => {
    const g = gateway(730);
    const outcome = await searchSustainedRate(settings, g.runAt);
    const held = outcome.sustained!.rate;
    const failed = outcome.failed!.rate;
    assert.ok(held <= 730 && failed > 730, JSON.stringify(g.tried));
    assert.ok(failed / held <= 1.1, JSON.stringify(g.tried));
    assert.deepEqual(g.tried.slice(0, 5), [50, 100, 200, 400, 800]);
  });

  it('one stall does not decide: a failed step is run again at the same rate', async () => {
    const g = gateway(730, [400]);
    const outcome = await searchSustainedRate(settings, g.runAt);
    assert.ok(outcome.sustained!.rate > 400, JSON.stringify(g.tried));
    assert.equal(g.tried.filter((r) => r === 400).length, 2);
  });

  it('halves below the start rate when even that fails, and stops at the maximum when everything holds', async () => {
    const slow = await searchSustainedRate(settings, gateway(20).runAt);
    assert.ok(slow.sustained!.rate <= 20 && slow.failed!.rate > 20);
    const fast = await searchSustainedRate({ ...settings, max: 300 }, gateway(10_000).runAt);
    assert.equal(fast.sustained!.rate, 300);
    assert.equal(fast.failed, undefined);
  });

  it('never runs more than maxSteps steps', async () => {
    const g = gateway(0);
    await searchSustainedRate({ ...settings, maxSteps: 5 }, g.runAt);
    assert.ok(g.tried.length <= 5);
  });
});

describe('bench --mix: popularity', () => {
  it('Zipf: the most popular of 500 products is drawn far more often than the median one, every one can be drawn', () => {
    const random = seededRandom(1);
    const draw = zipf(500, 1);
    const counts = new Array<number>(500).fill(0);
    for (let i = 0; i < 200_000; i += 1) counts[draw(random)]! += 1;
    assert.ok(counts[0]! > 50 * counts[249]!, `${counts[0]} vs ${counts[249]}`);
    assert.ok(counts.filter((c) => c > 0).length > 450);
  });

  it('weighted choice follows its weights', () => {
    const random = seededRandom(2);
    const pick = weighted([
      ['a', 96],
      ['placeOrder', 4],
    ] as const);
    let orders = 0;
    for (let i = 0; i < 100_000; i += 1) if (pick(random) === 'placeOrder') orders += 1;
    assert.ok(orders > 3500 && orders < 4500, String(orders));
  });
});
