import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerChecker, canonical } from '../../bench/mix/check.ts';
import type { MixRequest } from '../../bench/mix/operations.ts';
import type { MixData } from '../../bench/mix/seed.ts';

/** The mix counts an answer only when it is the right one: a faster wrong answer fails the run. */
const ANN = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const P1 = '00000000-0000-4000-8000-0000000000f1';

function fixture() {
  const data: MixData = {
    categories: [],
    products: [{ id: P1, name: 'copper kettle 1', categoryId: 'c', priceAmount: 100 }],
    searchTerms: [],
    customers: [
      { index: 0, id: ANN, email: 'ann@x', name: 'Ann', token: 't0' },
      { index: 1, id: BOB, email: 'bob@x', name: 'Bob', token: 't1' },
    ],
    orders: new Map([
      ['o-ann', { id: 'o-ann', customer: 0, items: [{ productId: P1, quantity: 2 }] }],
      ['o-bob', { id: 'o-bob', customer: 1, items: [{ productId: P1, quantity: 1 }] }],
    ]),
    ordersOf: [['o-ann'], ['o-bob']],
    payable: [],
    placed: [],
  };
  const home = { categories: [{ id: 'c', name: 'Kitchen' }] };
  const checker = new AnswerChecker(data, {
    text: new Map([['home', JSON.stringify({ data: home })]]),
    canonical: new Map([['home', canonical(home)]]),
  });
  return { data, checker };
}

const historyOf = (customer: number): MixRequest => ({ kind: 'history', customer, body: '' });
const order = (id: string, owner: string, quantity: number) => ({
  id,
  user: { id: owner },
  items: [{ quantity, product: { id: P1, name: 'copper kettle 1' } }],
});

describe('bench --mix: every answer checked before it counts', () => {
  it("a customer's own history counts; another customer's order in it is a wrong answer", () => {
    const { checker } = fixture();
    const own = { data: { me: { id: ANN, orders: { edges: [{ node: order('o-ann', ANN, 2) }] } } } };
    assert.deepEqual(checker.check(historyOf(0), 200, JSON.stringify(own)), { kind: 'ok' });
    // Bob's order, even labelled as Ann's.
    const leaked = { data: { me: { id: ANN, orders: { edges: [{ node: order('o-bob', ANN, 1) }] } } } };
    assert.equal(checker.check(historyOf(0), 200, JSON.stringify(leaked)).kind, 'wrong');
    // Answered for someone else altogether.
    const other = { data: { me: { id: BOB, orders: { edges: [] } } } };
    assert.equal(checker.check(historyOf(0), 200, JSON.stringify(other)).kind, 'wrong');
    // The right order with other lines than were placed.
    const changed = { data: { me: { id: ANN, orders: { edges: [{ node: order('o-ann', ANN, 3) }] } } } };
    assert.equal(checker.check(historyOf(0), 200, JSON.stringify(changed)).kind, 'wrong');
  });

  it('an order nobody told the checker about must turn out to be the asking customer’s by the end', async () => {
    const { checker, data } = fixture();
    const early = { data: { me: { id: ANN, orders: { edges: [{ node: order('o-new', ANN, 1) }] } } } };
    const noLookup = () => Promise.reject(new Error('the ledger knows this order'));
    assert.deepEqual(checker.check(historyOf(0), 200, JSON.stringify(early)), { kind: 'ok' });
    data.orders.set('o-new', { id: 'o-new', customer: 1, items: [{ productId: P1, quantity: 1 }] }); // it was Bob's
    assert.equal((await checker.unresolved(noLookup)).length, 1);

    // A placeOrder that timed out for the bench but committed: the run never learns its id; the table says whose it is.
    const timedOut = { data: { me: { id: ANN, orders: { edges: [{ node: order('o-late', ANN, 1) }] } } } };
    checker.check(historyOf(0), 200, JSON.stringify(timedOut));
    assert.deepEqual(await checker.unresolved(async () => new Map([['o-late', ANN]])), []);
    checker.check(historyOf(0), 200, JSON.stringify(timedOut));
    assert.equal(
      (await checker.unresolved(async () => new Map([['o-late', BOB]]))).length,
      1,
      "Bob's order shown to Ann",
    );
    checker.check(historyOf(0), 200, JSON.stringify(timedOut));
    assert.equal((await checker.unresolved(async () => new Map())).length, 1, 'an order that does not exist');
  });

  it('a public answer must equal its reference; errors and non-200s are errors, not answers', () => {
    const { checker } = fixture();
    const home: MixRequest = { kind: 'home', customer: 0, body: '', referenceKey: 'home' };
    // Same data, other key order: still the reference.
    assert.deepEqual(checker.check(home, 200, '{"data":{"categories":[{"name":"Kitchen","id":"c"}]}}'), {
      kind: 'ok',
    });
    assert.equal(checker.check(home, 200, '{"data":{"categories":[]}}').kind, 'wrong');
    assert.equal(checker.check(home, 503, 'busy').kind, 'error');
    assert.equal(
      checker.check(home, 200, '{"errors":[{"message":"x","extensions":{"code":"RATE_LIMITED"}}]}').kind,
      'error',
    );
  });

  it('a profile must be the asking customer’s', () => {
    const { checker } = fixture();
    const profile: MixRequest = { kind: 'profile', customer: 0, body: '' };
    const ann = { id: ANN, name: 'Ann', email: 'ann@x', emailNotifications: true };
    assert.equal(checker.check(profile, 200, JSON.stringify({ data: { me: ann } })).kind, 'ok');
    const bob = { ...ann, id: BOB, email: 'bob@x' };
    assert.equal(checker.check(profile, 200, JSON.stringify({ data: { me: bob } })).kind, 'wrong');
  });
});
