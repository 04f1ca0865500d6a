import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@storefront/platform/testing';
import {
  ADMIN,
  CUSTOMER,
  EVENT_TIMEOUT_MS,
  STAFF,
  eventsFor,
  startProductsHarness,
  type ProductsHarness,
} from './harness.ts';

const CREATE = `mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id sku name description price { amount currency } category { id } inStock stockLevel }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { id sku name description price { amount currency } category { id } stockLevel }
}`;
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta) { id stockLevel inStock } }`;
const UNKNOWN_ID = 'f0000000-0000-4000-8000-000000000999';

describe('products: managing the catalog', { timeout: 120_000 }, () => {
  let h: ProductsHarness;
  let category: { id: string };
  let otherCategory: { id: string };
  const validInput = () => ({
    sku: `KB-${Math.random().toString(36).slice(2, 10)}`,
    name: 'Split Keyboard',
    description: 'Ergonomic split keyboard',
    price: { amount: 24900, currency: 'USD' },
    categoryId: category.id,
    stockLevel: 5,
  });

  before(async () => {
    h = await startProductsHarness();
    category = await h.createCategory('Keyboards');
    otherCategory = await h.createCategory('Mice');
  });
  after(() => h?.stop());

  it('lets staff create a product and announces it on inventory-events', async () => {
    const input = validInput();
    const res = await h.call(CREATE, { input: { ...input, name: '  Split Keyboard  ' } }, STAFF);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const product = res.data!.createProduct;
    assert.equal(product.name, 'Split Keyboard');
    assert.deepEqual(product.price, { amount: 24900, currency: 'USD' });
    assert.equal(product.category.id, category.id);
    assert.equal(product.stockLevel, 5);
    assert.equal(product.inStock, true);

    const [event] = await eventually(
      () => {
        const found = eventsFor(h.published, product.id, 'ProductCreated');
        return found.length ? found : undefined;
      },
      EVENT_TIMEOUT_MS,
      'ProductCreated',
    );
    assert.equal(event!.source, 'products');
    assert.deepEqual(event!.data, {
      productId: product.id,
      sku: input.sku,
      name: 'Split Keyboard',
      price: { amount: 24900, currency: 'USD' },
      stockLevel: 5,
    });
  });

  it('shows stock levels to staff and admins only; the rest of the product stays public', async () => {
    const { id } = await h.createProduct({ categoryId: category.id, stockLevel: 7 });
    const query = `query($id: ID!) { product(id: $id) { name inStock stockLevel } }`;
    for (const identity of [STAFF, ADMIN]) {
      const res = await h.call(query, { id }, identity);
      assert.equal(res.errors, undefined);
      assert.equal(res.data!.product.stockLevel, 7);
    }
    for (const [identity, code] of [
      [CUSTOMER, 'FORBIDDEN'],
      [null, 'UNAUTHENTICATED'],
    ] as const) {
      const res = await h.call(query, { id }, identity);
      assert.equal(res.errors?.[0]?.extensions?.code, code);
      assert.deepEqual(res.errors?.[0]?.path, ['product', 'stockLevel']);
      assert.deepEqual(res.data!.product, { name: 'Test product', inStock: true, stockLevel: null });
    }
  });

  it('refuses every change to customers and anonymous callers', async () => {
    const { id } = await h.createProduct({ categoryId: category.id });
    const attempts: [string, Record<string, unknown>][] = [
      [CREATE, { input: validInput() }],
      [UPDATE, { id, input: { name: 'Hacked' } }],
      [ADJUST, { id, delta: 100 }],
      [`mutation { createCategory(name: "Sneaky") { id } }`, {}],
    ];
    for (const [mutation, variables] of attempts) {
      assert.equal((await h.call(mutation, variables, CUSTOMER)).errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.equal((await h.call(mutation, variables, null)).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    }
    const unchanged = await h.runtime.db.product.findUniqueOrThrow({ where: { id } });
    assert.equal(unchanged.name, 'Test product');
    assert.equal(unchanged.stockLevel, 10);
    assert.equal(await h.runtime.db.category.count({ where: { name: 'Sneaky' } }), 0);
  });

  it('refuses invalid product input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const taken = validInput();
    assert.equal((await h.call(CREATE, { input: taken }, STAFF)).errors, undefined);
    const before = await h.runtime.db.product.count();
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'input.name'],
      [{ name: '   ' }, 'input.name'],
      [{ price: { amount: -1, currency: 'USD' } }, 'input.price.amount'],
      [{ price: { amount: 100, currency: 'usd' } }, 'input.price.currency'],
      [{ price: { amount: 100, currency: 'DOLLARS' } }, 'input.price.currency'],
      [{ categoryId: UNKNOWN_ID }, 'input.categoryId'],
      [{ categoryId: 'keyboards' }, 'input.categoryId'],
      [{ sku: taken.sku }, 'input.sku'],
      [{ sku: '' }, 'input.sku'],
      [{ sku: 'has spaces' }, 'input.sku'],
      [{ stockLevel: -3 }, 'input.stockLevel'],
      [{ description: 'x'.repeat(5001) }, 'input.description'],
    ];
    for (const [override, field] of cases) {
      const res = await h.call(CREATE, { input: { ...validInput(), ...override } }, STAFF);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${field}: ${JSON.stringify(res.errors)}`);
      assert.equal(res.errors?.[0]?.extensions?.field, field);
      assert.doesNotMatch(res.errors?.[0]?.message ?? '', /prisma|sql|constraint/i);
    }
    assert.equal(await h.runtime.db.product.count(), before);
  });

  it('updates only the given fields and announces the change', async () => {
    const { id, sku } = await h.createProduct({ categoryId: category.id, name: 'Old name', description: 'Old words' });
    const res = await h.call(
      UPDATE,
      { id, input: { name: 'New name', price: { amount: 5000, currency: 'EUR' }, categoryId: otherCategory.id } },
      ADMIN,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepEqual(res.data!.updateProduct, {
      id,
      sku,
      name: 'New name',
      description: 'Old words',
      price: { amount: 5000, currency: 'EUR' },
      category: { id: otherCategory.id },
      stockLevel: 10,
    });
    const event = await eventually(
      () => eventsFor(h.published, id, 'ProductUpdated')[0],
      EVENT_TIMEOUT_MS,
      'ProductUpdated',
    );
    assert.deepEqual(event.data, {
      productId: id,
      sku,
      name: 'New name',
      price: { amount: 5000, currency: 'EUR' },
      stockLevel: 10,
    });
  });

  it('refuses invalid updates: unknown or malformed id, taken SKU, unknown category, empty name', async () => {
    const { id } = await h.createProduct({ categoryId: category.id });
    const { sku: taken } = await h.createProduct({ categoryId: category.id });
    const unknown = await h.call(UPDATE, { id: UNKNOWN_ID, input: { name: 'Ghost' } }, STAFF);
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'abc', input: { name: 'x' } }, 'id'],
      [{ id, input: { sku: taken } }, 'input.sku'],
      [{ id, input: { categoryId: UNKNOWN_ID } }, 'input.categoryId'],
      [{ id, input: { name: '' } }, 'input.name'],
      [{ id, input: { price: { amount: -5, currency: 'USD' } } }, 'input.price.amount'],
    ];
    for (const [variables, field] of cases) {
      const res = await h.call(UPDATE, variables, STAFF);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${field}: ${JSON.stringify(res.errors)}`);
      assert.equal(res.errors?.[0]?.extensions?.field, field);
    }
  });

  it('adjusts stock up and down, never below zero, announcing each change', async () => {
    const { id } = await h.createProduct({ categoryId: category.id, stockLevel: 2 });
    const up = await h.call(ADJUST, { id, delta: 3 }, STAFF);
    assert.deepEqual(up.data?.adjustStock, { id, stockLevel: 5, inStock: true });
    const down = await h.call(ADJUST, { id, delta: -5 }, STAFF);
    assert.deepEqual(down.data?.adjustStock, { id, stockLevel: 0, inStock: false });

    const below = await h.call(ADJUST, { id, delta: -1 }, STAFF);
    assert.equal(below.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(below.errors?.[0]?.extensions?.field, 'delta');
    assert.equal(await h.stockOf(id), 0);

    assert.equal(
      (await h.call(ADJUST, { id: UNKNOWN_ID, delta: 1 }, STAFF)).errors?.[0]?.extensions?.code,
      'NOT_FOUND',
    );
    const malformed = await h.call(ADJUST, { id: 'nope', delta: 1 }, STAFF);
    assert.equal(malformed.errors?.[0]?.extensions?.field, 'productId');

    const levels = await eventually(
      () => {
        const updates = eventsFor(h.published, id, 'ProductUpdated').map(
          (e) => (e.data as { stockLevel: number }).stockLevel,
        );
        return updates.length >= 2 ? updates : undefined;
      },
      EVENT_TIMEOUT_MS,
      'two ProductUpdated',
    );
    assert.deepEqual(levels, [5, 0]);
  });

  it('never overdraws when adjustments race', async () => {
    const { id } = await h.createProduct({ categoryId: category.id, stockLevel: 5 });
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call(ADJUST, { id, delta: -1 }, STAFF)));
    assert.equal(results.filter((r) => r.data?.adjustStock).length, 5);
    assert.equal(results.filter((r) => r.errors?.[0]?.extensions?.field === 'delta').length, 3);
    assert.equal(await h.stockOf(id), 0);
  });

  it('lets staff add categories, announced on inventory-events, refusing duplicates and empty names', async () => {
    const created = await h.call(
      `mutation { createCategory(name: " Webcams ") { id name products { edges { cursor } } } }`,
      {},
      STAFF,
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    assert.equal(created.data!.createCategory.name, 'Webcams');
    assert.deepEqual(created.data!.createCategory.products.edges, []);
    const webcams = created.data!.createCategory.id as string;
    const [event] = await eventually(
      () => {
        const found = eventsFor(h.published, webcams, 'CategoryCreated');
        return found.length ? found : undefined;
      },
      EVENT_TIMEOUT_MS,
      'CategoryCreated',
    );
    assert.deepEqual(event!.data, { categoryId: webcams, name: 'Webcams' });
    for (const name of ['Webcams', '']) {
      const res = await h.call(`mutation($name: String!) { createCategory(name: $name) { id } }`, { name }, STAFF);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(res.errors?.[0]?.extensions?.field, 'name');
    }
    // A refused category is not announced.
    assert.equal(h.published.filter((e) => e.type === 'CategoryCreated').length, 3);
    const list = await h.call(`{ categories { name } }`);
    assert.deepEqual(
      list.data!.categories.map((c: { name: string }) => c.name),
      ['Keyboards', 'Mice', 'Webcams'],
    );
  });
});
