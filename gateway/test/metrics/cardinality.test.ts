import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import { createLogger } from '@storefront/platform/logger';
import type { GatewayContext } from '../../src/context.ts';
import { createGatewayMetrics } from '../../src/metrics/index.ts';

/**
 * Operation names and client apps are the caller's to choose: a flood of
 * made-up ones must not make a series each. 10,000 distinct random operation
 * names go through Apollo Server's real request pipeline with the gateway's
 * metrics plugin (in process: the same flood over HTTP is minutes of CPU on
 * a shared machine; test/e2e/metrics.test.ts sends a smaller one through the
 * whole gateway), and the scrape stays at the configured bound.
 */
const seriesOf = (text: string, name: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])));

describe('gateway metrics: bounded label values', () => {
  it('keeps 10,000 distinct random operation names and 500 apps to a bounded number of series', async () => {
    const metrics = createGatewayMetrics(
      { METRICS: true, METRICS_PATH: '/metrics', METRICS_MAX_OPERATION_NAMES: 20, METRICS_MAX_CLIENTS: 5 },
      ['Checkout'],
    );
    const server = new ApolloServer<GatewayContext>({
      schema: buildSchema('type Query { ok: Boolean }'),
      plugins: metrics.plugins,
    });
    await server.start();
    const logger = createLogger({ name: 'test', level: 'silent' });
    const context = (i: number): GatewayContext => ({
      identity: null,
      requestId: String(i),
      logger,
      client: { name: `app-${i % 500}`, version: '1.0.0' },
    });
    try {
      const names = Array.from({ length: 10_000 }, () => `Flood_${randomBytes(8).toString('hex')}`);
      for (const [i, name] of names.entries()) {
        const res = await server.executeOperation({ query: `query ${name} { ok }` }, { contextValue: context(i) });
        assert.equal(res.body.kind === 'single' && res.body.singleResult.errors, undefined);
      }
      // A trusted document's operation keeps its series even after the bound is reached.
      await server.executeOperation({ query: `query Checkout { ok }` }, { contextValue: context(0) });

      const text = await metrics.render();
      const requests = seriesOf(text, 'gateway_graphql_requests_total');
      const operationNames = new Set(requests.map((s) => s.operation_name));
      const clients = new Set(requests.map((s) => `${s.client_name}@${s.client_version}`));
      // The first 20 names, `other`, and the trusted `Checkout`; 5 apps, then `other`.
      assert.equal(operationNames.size, 22, [...operationNames].join(', '));
      assert.ok(operationNames.has('other') && operationNames.has('Checkout') && operationNames.has(names[0]));
      assert.ok(!operationNames.has(names[20]));
      assert.equal(clients.size, 6, [...clients].join(', '));
      assert.ok(clients.has('other@other'));
      // Every request is counted, under whichever label it got.
      const total = text
        .split('\n')
        .filter((line) => line.startsWith('gateway_graphql_requests_total{'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
      assert.equal(total, names.length + 1);
      assert.ok(seriesOf(text, 'gateway_graphql_request_duration_seconds_count').length <= 22);
    } finally {
      await server.stop();
    }
  });
});
