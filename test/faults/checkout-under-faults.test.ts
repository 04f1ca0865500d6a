import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recordInDocs, summarize } from './support/report.ts';
import { runScenario, settingsFromEnv, type ScenarioResult } from './support/scenario.ts';

/**
 * The fault suite (`npm run test:faults`; `npm test` runs it after the other
 * files, alone): shoppers check out while every service, the Kafka broker and
 * Redis are killed with kill -9 at seeded moments and started again. Nothing
 * acknowledged may be lost or duplicated, nothing may stay PENDING, stock
 * must balance, no customer is notified twice, and watched orders miss no
 * status. FAULTS_SEED replays a run's choices; FAULTS_RECORD=1 writes its
 * figures to docs/reliability.md. See docs/reliability.md.
 */
const log = (line: string) => process.stdout.write(`[faults] ${line}\n`);

describe('checkout under faults (kill -9 of every process and backend)', () => {
  const settings = settingsFromEnv();
  let result: ScenarioResult;

  before(
    async () => {
      log(`seed ${settings.seed} (replay with FAULTS_SEED=${settings.seed})`);
      result = await runScenario(settings, log);
      const summary = summarize(result);
      process.stdout.write(`\n${summary}\n`);
      if (process.env.FAULTS_RECORD === '1') recordInDocs(result, summary);
    },
    // A few minutes on two idle cores, far longer on a busy machine; its own deadlines bound each step.
    { timeout: 30 * 60_000 },
  );
  after(() => {
    if (result) log(`service logs: ${result.logDir}`);
  });

  const check = (index: number) => () => {
    const { name, problems } = result.checks[index]!;
    assert.deepEqual(problems.slice(0, 20), [], `${name}: ${problems.length} problems (seed ${settings.seed})`);
  };
  it('every acknowledged order is stored exactly once per idempotency key', check(0));
  it('no order is left PENDING', check(1));
  it("every product's stock balances against its live orders", check(2));
  it('no notification or email is duplicated, no in-app notification missing', check(3));
  it('open orderStatusChanged subscriptions see contiguous versions', check(4));

  it('killed every process and backend, and each came back', () => {
    const killed = new Set(result.kills.map((k) => k.target));
    assert.deepEqual([...killed].sort(), ['gateway', 'kafka', 'notifications', 'orders', 'products', 'redis', 'users']);
    for (const kill of result.kills) assert.ok(kill.readyAt, `${kill.target} never came back`);
    assert.ok(result.shop.orders.length >= settings.orders, `only ${result.shop.orders.length} orders placed`);
  });

  it('every service shut down in order on SIGTERM at the end (exit code 0), none exited unasked', () => {
    assert.deepEqual(result.unaskedExits, []);
    for (const [service, code] of Object.entries(result.exitCodes))
      assert.equal(code, 0, `${service} exited with ${code}`);
  });
});
