import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Kind, OperationTypeNode, parse, type OperationDefinitionNode } from 'graphql';
import { captureLogs } from '@storefront/platform/testing';
import { loadGatewayConfig, type RunningGateway } from '@storefront/gateway';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * Plan-cache warm-up: with TRUSTED_DOCUMENTS, the gateway plans every trusted
 * query and mutation before it reports ready, so the first request of each
 * finds its plan (and its parsed, validated document) cached — and the
 * warm-up itself never calls a subgraph.
 */
const MANIFEST = 'clients/generated/trusted-documents.json';
const documents = Object.entries(JSON.parse(readFileSync(MANIFEST, 'utf8')) as Record<string, string>).map(
  ([hash, text]) => {
    const operations = parse(text).definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    return { hash, text, operation: operations[0]!, single: operations.length === 1 };
  },
);
const warmable = documents.filter((d) => d.operation.operation !== OperationTypeNode.SUBSCRIPTION);

// Values for the required variables of the trusted operations that need any (a request must reach the planner).
const VARIABLES: Record<string, Record<string, unknown>> = {
  ProductDetail: { id: 'no-such-product' },
  OrderDetail: { id: 'no-such-order' },
  SearchProducts: { query: 'shirt' },
  LogIn: { email: 'nobody@example.com', password: 'not-the-password' },
};

const byHash = (stack: Stack, gatewayUrl: string, doc: (typeof documents)[number], token: string, withName = true) =>
  fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      ...(withName ? { operationName: doc.operation.name!.value } : {}),
      variables: VARIABLES[doc.operation.name!.value] ?? {},
      extensions: { persistedQuery: { version: 1, sha256Hash: doc.hash } },
    }),
  }).then(async (res) => ({
    status: res.status,
    ...((await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] }),
  }));

describe('plan-cache warm-up', { timeout: 180_000 }, () => {
  let stack: Stack;
  let cold: RunningGateway | undefined;
  let token: string;
  const logs = captureLogs();

  before(async () => {
    // The response cache is off so that every request below reaches the planner.
    stack = await startStack({
      gatewayEnv: { TRUSTED_DOCUMENTS: MANIFEST, RESPONSE_CACHE: 'false' },
      logger: logs.logger,
    });
  });
  after(async () => {
    await cold?.stop();
    await stack?.stop();
  });

  it('has planned every trusted query and mutation by the time it is ready, without calling a subgraph', () => {
    assert.deepEqual(stack.gateway.subgraphFetches(), {});
    const plans = stack.gateway.planCache();
    // One plan per operation name a client may send, and one without a name for a single-operation document.
    const expected = warmable.reduce((n, d) => n + (d.single ? 2 : 1), 0);
    assert.equal(plans.size, expected);
    assert.deepEqual({ hits: plans.hits, misses: plans.misses }, { hits: 0, misses: 0 });
    assert.equal(stack.gateway.documentCache().size, warmable.length);
    // And says so, with how long it took, before it reports ready.
    const [report] = logs.find('query plans warmed up from the trusted documents');
    assert.ok(report, 'warm-up logged');
    assert.deepEqual(
      { documents: report.documents, planned: report.planned, skipped: report.skipped, failed: report.failed },
      {
        documents: documents.length,
        planned: expected,
        skipped: documents.length - warmable.length,
        failed: 0,
      },
    );
    assert.equal(typeof report.ms, 'number');
    assert.ok(logs.records.indexOf(report) < logs.records.indexOf(logs.find('gateway ready')[0]!));
  });

  it('serves the first request of every trusted operation from the plan and document caches', async () => {
    token = (await stack.signUp('Warm')).token; // an ad-hoc mutation text, planned and parsed now: the baseline
    const plansBefore = stack.gateway.planCache();
    const documentsBefore = stack.gateway.documentCache();
    const queries = warmable.filter((d) => d.operation.operation === OperationTypeNode.QUERY);
    const logIn = warmable.find((d) => d.operation.name?.value === 'LogIn')!;
    let sent = 0;
    for (const doc of [...queries, logIn]) {
      for (const withName of [true, false]) {
        const res = await byHash(stack, stack.gateway.url, doc, token, withName);
        assert.notEqual(res.status, 500, JSON.stringify(res.errors));
        sent++;
      }
    }
    const plans = stack.gateway.planCache();
    const parsed = stack.gateway.documentCache();
    assert.equal(plans.misses - plansBefore.misses, 0, 'a trusted operation was planned on its first request');
    // Every request reached the planner (none was refused before it).
    assert.equal(plans.hits - plansBefore.hits, sent);
    assert.equal(parsed.misses - documentsBefore.misses, 0, 'a trusted document was parsed on its first request');
  });

  it('without warm-up, the first request of a trusted operation is planned then (the control)', async () => {
    cold = await stack.startGateway({ TRUSTED_DOCUMENTS: MANIFEST, PLAN_WARM_UP: 'false', RESPONSE_CACHE: 'false' });
    assert.equal(cold.planCache().size, 0);
    const categories = documents.find((d) => d.operation.name?.value === 'Categories')!;
    const res = await byHash(stack, cold.url, categories, token);
    assert.ok(res.data?.categories, JSON.stringify(res.errors));
    assert.deepEqual({ hits: cold.planCache().hits, misses: cold.planCache().misses }, { hits: 0, misses: 1 });
  });

  it('names the key of a bad cache size or warm-up setting', () => {
    assert.throws(() => loadGatewayConfig({ QUERY_PLAN_CACHE_MB: 'lots' }), /QUERY_PLAN_CACHE_MB/);
    assert.throws(() => loadGatewayConfig({ DOCUMENT_CACHE_MB: '0' }), /DOCUMENT_CACHE_MB/);
    assert.throws(() => loadGatewayConfig({ PLAN_WARM_UP: 'sometimes' }), /PLAN_WARM_UP/);
  });
});
