import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryEventBus } from '@storefront/platform/events';
import { createLogger } from '@storefront/platform/logger';
import type { RunningService, StartDependencies } from '@storefront/platform/service';
import { callSubgraph, serviceTestEnv } from '@storefront/platform/testing';
import { loadUsersConfig, startUsers } from '@storefront/users';

/**
 * A subgraph answers only signed calls, from loopback too. The benchmark once
 * had a way around that (BENCH_UNSIGNED_LOOPBACK_IDENTITY: unsigned loopback
 * calls acted as a configured customer, for peer gateways that did not sign);
 * the peers now sign as our gateway does, and the way around is gone. This
 * keeps it gone: whatever that variable or the bench's customer header says,
 * an unsigned call is refused.
 */
describe('no unsigned calls, from loopback either', { timeout: 120_000 }, () => {
  let env: Record<string, string>;
  let dependencies: StartDependencies;
  let users: RunningService;
  const customerId = '6f1c2b9e-3a4d-4e5f-8a9b-0c1d2e3f4a5b';

  before(async () => {
    env = await serviceTestEnv();
    const logger = createLogger({ name: 'test', level: env.LOG_LEVEL });
    dependencies = env.KAFKA_BROKERS ? { logger } : { logger, bus: new MemoryEventBus(logger) };
    users = await startUsers(
      loadUsersConfig({ ...env, BENCH_UNSIGNED_LOOPBACK_IDENTITY: 'customer-header' }),
      dependencies,
    );
  });
  after(async () => {
    await users?.stop();
    await dependencies.bus?.close();
  });

  it('refuses an unsigned loopback call, with or without a customer header', async () => {
    for (const headers of [{}, { 'x-bench-customer-id': customerId }] as Record<string, string>[]) {
      const res = await fetch(users.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      const body = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
      assert.equal(res.status, 401, JSON.stringify(body));
      assert.equal(body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.equal(body.data ?? null, null);
    }
  });

  it('answers the same call signed (so the refusal above is about the signature)', async () => {
    const signed = await callSubgraph(users.url, '{ me { id } }', {}, null, env.SUBGRAPH_SECRET);
    assert.equal(signed.status, 200, JSON.stringify(signed));
    assert.equal(signed.errors, undefined, JSON.stringify(signed.errors));
  });
});
