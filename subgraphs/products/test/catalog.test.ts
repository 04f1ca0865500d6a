import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GraphQLResult } from '@storefront/platform/testing';
import { startProductsHarness, type ProductsHarness } from './harness.ts';

const PRODUCTS_PAGE = `query($first: Int, $after: String, $categoryId: ID) {
  products(first: $first, after: $after, categoryId: $categoryId) {
    edges { cursor node { id name category { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type Page = {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
};

describe('products: browsing the catalog', { timeout: 120_000 }, () => {
  let h: ProductsHarness;
  let tools: { id: string };
  let garden: { id: string };
  /** Every product id, newest first, as the database orders them. */
  let newestFirst: string[];

  before(async () => {
    h = await startProductsHarness();
    tools = await h.createCategory('Tools');
    garden = await h.createCategory('Garden');
    for (let i = 0; i < 9; i++) await h.createProduct({ categoryId: tools.id, name: `Tool ${i}` });
    for (let i = 0; i < 5; i++) await h.createProduct({ categoryId: garden.id, name: `Plant ${i}` });
    // Rows created in the same millisecond: only the id can order them, so pages must not lose or repeat one.
    const sameInstant = new Date();
    await h.runtime.db.product.createMany({
      data: Array.from({ length: 7 }, (_, i) => ({
        sku: `TIE-${i}`,
        name: `Tie ${i}`,
        priceAmount: 100,
        categoryId: tools.id,
        createdAt: sameInstant,
      })),
    });
    const rows = await h.runtime.db.product.findMany({
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { id: true },
    });
    newestFirst = rows.map((r) => r.id);
  });
  after(() => h?.stop());

  async function walk(variables: Record<string, unknown>, first: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const res: GraphQLResult<{ products: Page }> = await h.call(PRODUCTS_PAGE, { ...variables, first, after });
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const page = res.data!.products;
      assert.ok(page.edges.length <= first);
      ids.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) return ids;
      assert.equal(page.pageInfo.endCursor, page.edges.at(-1)!.cursor);
      after = page.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  it('pages through every product newest first, with no duplicates or gaps', async () => {
    assert.equal(newestFirst.length, 21);
    for (const size of [1, 4, 7, 21, 100]) {
      assert.deepEqual(await walk({}, size), newestFirst, `page size ${size}`);
    }
  });

  it('filters by category and pages within it', async () => {
    const gardenIds = await walk({ categoryId: garden.id }, 2);
    assert.equal(gardenIds.length, 5);
    const toolIds = await walk({ categoryId: tools.id }, 3);
    assert.equal(toolIds.length, 16);
    assert.deepEqual([...gardenIds, ...toolIds].sort(), [...newestFirst].sort());
    assert.deepEqual(
      toolIds,
      newestFirst.filter((id) => toolIds.includes(id)),
      'newest first within the category',
    );
    const unknown = await h.call(PRODUCTS_PAGE, { categoryId: 'f0000000-0000-4000-8000-000000000999' });
    assert.deepEqual(unknown.data?.products.edges, []);
  });

  it("pages each category's products through Category.products", async () => {
    const query = `query($after: String) { categories { id name products(first: 3, after: $after) {
      edges { cursor node { id category { id } } } pageInfo { hasNextPage endCursor } } } }`;
    const first = await h.call(query);
    assert.equal(first.errors, undefined, JSON.stringify(first.errors));
    const categories = first.data!.categories as { id: string; name: string; products: Page }[];
    assert.deepEqual(
      categories.map((c) => c.name),
      ['Garden', 'Tools'],
    );
    for (const category of categories) {
      assert.equal(category.products.edges.length, 3);
      assert.ok(category.products.pageInfo.hasNextPage);
      for (const edge of category.products.edges)
        assert.equal((edge.node as unknown as { category: { id: string } }).category.id, category.id);
    }
    // Following one category's cursor gives the rest of that category, in order.
    const garden$ = categories.find((c) => c.name === 'Garden')!;
    const rest = await h.call(
      `query($after: String) { _entities(representations: [{ __typename: "Category", id: "${garden.id}" }]) {
        ... on Category { products(first: 10, after: $after) { edges { node { id } } pageInfo { hasNextPage } } } } }`,
      { after: garden$.products.pageInfo.endCursor },
    );
    assert.equal(rest.errors, undefined, JSON.stringify(rest.errors));
    const restIds = rest.data!._entities[0].products.edges.map((e: { node: { id: string } }) => e.node.id);
    assert.equal(restIds.length, 2);
    assert.equal(rest.data!._entities[0].products.pageInfo.hasNextPage, false);
    assert.deepEqual(
      [...garden$.products.edges.map((e) => e.node.id), ...restIds],
      await walk({ categoryId: garden.id }, 100),
    );
  });

  it('shows money, stock availability and category on a product', async () => {
    const created = await h.createProduct({
      categoryId: garden.id,
      name: 'Watering Can',
      price: { amount: 1999, currency: 'EUR' },
      stockLevel: 0,
    });
    const res = await h.call(
      `query($id: ID!) { product(id: $id) { id sku name price { amount currency } inStock category { name } createdAt } }`,
      {
        id: created.id.toUpperCase(),
      },
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const product = res.data!.product;
    assert.equal(product.id, created.id);
    assert.deepEqual(product.price, { amount: 1999, currency: 'EUR' });
    assert.equal(product.inStock, false);
    assert.equal(product.category.name, 'Garden');
    assert.ok(!Number.isNaN(Date.parse(product.createdAt)));
  });

  it('resolves Product and Category references for the gateway, null for unknown or malformed ids', async () => {
    const [a, b] = newestFirst;
    const res = await h.call(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Product { id name category { name } } ... on Category { id name } } }`,
      {
        reps: [
          { __typename: 'Product', id: a },
          { __typename: 'Product', id: b },
          { __typename: 'Product', id: a },
          { __typename: 'Product', id: 'f0000000-0000-4000-8000-000000000999' },
          { __typename: 'Product', id: 'not-a-uuid' },
          { __typename: 'Category', id: tools.id },
        ],
      },
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const entities = res.data!._entities;
    assert.equal(entities[0].id, a);
    assert.equal(entities[1].id, b);
    assert.equal(entities[2].id, a);
    assert.equal(entities[3], null);
    assert.equal(entities[4], null);
    assert.deepEqual(entities[5], { id: tools.id, name: 'Tools' });
  });

  it('answers unknown ids with NOT_FOUND and malformed input with BAD_USER_INPUT naming the field', async () => {
    const unknown = await h.call(`{ product(id: "f0000000-0000-4000-8000-000000000999") { id } }`);
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal(unknown.data?.product, null);

    const cases: [string, Record<string, unknown>, string][] = [
      [`{ product(id: "42") { id } }`, {}, 'id'],
      [PRODUCTS_PAGE, { after: 'not-a-cursor' }, 'after'],
      // A well-formed cursor whose id is not a UUID must not reach the database.
      [
        PRODUCTS_PAGE,
        { after: Buffer.from(JSON.stringify([new Date().toISOString(), 'x'])).toString('base64url') },
        'after',
      ],
      [PRODUCTS_PAGE, { first: 0 }, 'first'],
      [PRODUCTS_PAGE, { first: 1000 }, 'first'],
      [PRODUCTS_PAGE, { categoryId: 'garden' }, 'categoryId'],
      [`{ categories { products(after: "bogus") { edges { cursor } } } }`, {}, 'after'],
    ];
    for (const [query, variables, field] of cases) {
      const res = await h.call(query, variables);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${field}: ${JSON.stringify(res.errors)}`);
      assert.equal(res.errors?.[0]?.extensions?.field, field);
    }
  });

  it('costs the same number of statements for 3 and for 21 products with their categories', async () => {
    const statements = async (first: number) => {
      const before = h.service.statementCount();
      const res = await h.call(
        `query($first: Int) { products(first: $first) { edges { node { name category { name products(first: 2) { edges { node { sku } } } } } } } }`,
        { first },
      );
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.equal(res.data!.products.edges.length, first);
      return h.service.statementCount() - before;
    };
    // The outbox relay polls the database on its own; keep it quiet while counting.
    await h.service.relay.stop();
    try {
      // products, their categories, the categories' first pages, the products on those pages (when not already loaded).
      for (const first of [1, 3, 10, 21]) {
        const count = await statements(first);
        assert.ok(count >= 2 && count <= 4, `${count} statements for ${first} products`);
      }
    } finally {
      h.service.relay.start();
    }
  });
});
