import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '@storefront/platform/testing';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Tracing never costs the customer: with the OTLP endpoint unreachable (a
 * port nothing listens on), every request is answered as usual and the
 * stack still stops promptly (each service waits at most 2 s for its spans).
 */
describe('tracing with the collector down', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      embedded: true,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    });
  });
  after(() => stack?.stop());

  it('answers every request, and stops within seconds', async () => {
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const res = await stack.query<{ categories: { id: string }[] }>('{ categories { id } }');
      assert.equal(res.status, 200);
      assert.ok(res.data?.categories, 'data');
      assert.ok(performance.now() - started < 5_000, 'no request waits for the exporter');
    }
    const stopping = performance.now();
    await stack.stop();
    assert.ok(performance.now() - stopping < 20_000, `stopped in ${Math.round(performance.now() - stopping)} ms`);
  });
});
