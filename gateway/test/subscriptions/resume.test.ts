import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, print } from 'graphql';
import { resumedOperation, resumePointIn } from '../../src/subscriptions/resume.ts';
import type { UpstreamOperation } from '../../src/subscriptions/upstream-client.ts';

const operation = (query: string, variables: Record<string, unknown> = {}): UpstreamOperation => ({
  subgraph: 'orders',
  query,
  variables,
  identity: { userId: 'u1', role: 'CUSTOMER' },
});
const same = (a: string, b: string) => assert.equal(print(parse(a)), print(parse(b)));

describe('resuming an upstream subscription', () => {
  it('reads a well-formed resume point from an event, and nothing else', () => {
    assert.deepEqual(resumePointIn({ data: {}, extensions: { resume: { after: 4 } } }), { after: 4 });
    assert.deepEqual(resumePointIn({ data: {}, extensions: { resume: { cursor: 'abc', live: true, since: null } } }), {
      cursor: 'abc',
      live: true,
      since: null,
    });
    for (const resume of [
      undefined,
      null,
      4,
      'after',
      [4],
      {},
      { after: { deep: 1 } },
      { 'not a name': 1 },
      { after: Number.NaN },
    ]) {
      assert.equal(resumePointIn({ data: {}, extensions: { resume } }), undefined, JSON.stringify(resume));
    }
    assert.equal(resumePointIn({ data: {} }), undefined);
  });

  it('sets the argument through its variable when the operation has one', () => {
    const query =
      'subscription($id: ID!, $after: Int) { orderStatusChanged(orderId: $id, after: $after) { id version } }';
    const resumed = resumedOperation(operation(query, { id: 'o1', after: 1 }), { after: 4 });
    same(resumed.query, query);
    assert.deepEqual(resumed.variables, { id: 'o1', after: 4 });
    assert.deepEqual(resumed.identity, { userId: 'u1', role: 'CUSTOMER' });
  });

  it('replaces a literal argument, or adds a missing one, on the subscription field only', () => {
    const literal = resumedOperation(
      operation(
        'subscription { __typename orderStatusChanged(orderId: "o1", after: 1) { id items { product(after: 1) { id } } } }',
      ),
      { after: 7 },
    );
    same(
      literal.query,
      'subscription { __typename orderStatusChanged(orderId: "o1", after: 7) { id items { product(after: 1) { id } } } }',
    );
    const missing = resumedOperation(
      operation('subscription($id: ID!) { orderStatusChanged(orderId: $id) { id } }', { id: 'o1' }),
      { after: 2, note: 'x', live: false, at: 1.5, gone: null },
    );
    same(
      missing.query,
      'subscription($id: ID!) { orderStatusChanged(orderId: $id, after: 2, note: "x", live: false, at: 1.5, gone: null) { id } }',
    );
    assert.deepEqual(missing.variables, { id: 'o1' });
  });
});
