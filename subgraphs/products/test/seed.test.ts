import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@storefront/platform/testing';
import { DEMO_CATALOG } from '../src/seed.ts';
import { EVENT_TIMEOUT_MS, startProductsHarness, type ProductsHarness } from './harness.ts';

describe('products: demo catalog seed', { timeout: 120_000 }, () => {
  let h: ProductsHarness;
  before(async () => {
    h = await startProductsHarness();
  });
  after(() => h?.stop());

  it('creates the demo catalog once, however often it runs, and announces each product', async () => {
    await h.service.seed();
    await h.service.seed();
    const expected = Object.values(DEMO_CATALOG).flat();
    const res = await h.call(
      `{ categories { name products(first: 100) { edges { node { sku price { currency } } } } } }`,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const categories = res.data!.categories as {
      name: string;
      products: { edges: { node: { sku: string; price: { currency: string } } }[] };
    }[];
    assert.deepEqual(categories.map((c) => c.name).sort(), Object.keys(DEMO_CATALOG).sort());
    const skus = categories.flatMap((c) => c.products.edges.map((e) => e.node.sku));
    assert.deepEqual(skus.sort(), expected.map((p) => p.sku).sort());
    assert.ok(categories.every((c) => c.products.edges.every((e) => e.node.price.currency === 'USD')));
    const created = await eventually(
      () => {
        const events = h.published.filter((e) => e.type === 'ProductCreated');
        return events.length >= expected.length ? events : undefined;
      },
      EVENT_TIMEOUT_MS,
      'ProductCreated for every demo product',
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.published.filter((e) => e.type === 'ProductCreated').length, created.length);
    assert.equal(created.length, expected.length);
  });

  it('makes the demo catalog searchable', async () => {
    const res = await h.call(`{ searchProducts(query: "headphones bluetooth", first: 3) { edges { node { sku } } } }`);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data!.searchProducts.edges[0]?.node.sku, 'EL-HEAD-001');
  });
});
