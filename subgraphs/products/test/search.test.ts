import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startProductsHarness, type ProductsHarness } from './harness.ts';

const SEARCH = `query($q: String!, $first: Int, $after: String) {
  searchProducts(query: $q, first: $first, after: $after) {
    edges { cursor node { id name } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type Hit = { cursor: string; node: { id: string; name: string } };

describe('products: full-text search', { timeout: 120_000 }, () => {
  let h: ProductsHarness;
  const ids: Record<string, string> = {};

  before(async () => {
    h = await startProductsHarness();
    const camping = await h.createCategory('Camping');
    const items: [string, string, string][] = [
      ['lantern', 'Folding Lantern', 'A collapsible light for the tent, with a warm white glow.'],
      ['stove', 'Camping Stove', 'Two-burner gas stove; pairs well with a lantern on long evenings.'],
      ['mug', 'Enamel Mug', 'A sturdy enamel cup for coffee by the fire.'],
      ['knife', 'Pocket Knife', 'Stainless steel blade with a locking mechanism and a bottle opener.'],
      ['chair', 'Folding Chair', 'Lightweight aluminium frame that folds into its own carry bag.'],
    ];
    for (const [key, name, description] of items) {
      ids[key] = (
        await h.createProduct({ categoryId: camping.id, name, description, sku: `CAMP-${key.toUpperCase()}` })
      ).id;
    }
  });
  after(() => h?.stop());

  const search = async (q: string, first?: number, after?: string) => {
    const res = await h.call<{
      searchProducts: { edges: Hit[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    }>(SEARCH, {
      q,
      first,
      after,
    });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data!.searchProducts;
  };

  it('ranks a match in the name above a match in the description', async () => {
    const result = await search('lantern');
    assert.deepEqual(
      result.edges.map((e) => e.node.id),
      [ids.lantern, ids.stove],
    );
  });

  it('finds a product by a word that appears only in its description, stemmed', async () => {
    assert.deepEqual(
      (await search('bottles')).edges.map((e) => e.node.id),
      [ids.knife],
    );
    assert.deepEqual(
      (await search('coffee')).edges.map((e) => e.node.id),
      [ids.mug],
    );
  });

  it('finds a product by its SKU', async () => {
    assert.deepEqual(
      (await search('CAMP-MUG')).edges.map((e) => e.node.id),
      [ids.mug],
    );
  });

  it('understands web-search syntax: exclusions and OR', async () => {
    assert.deepEqual(
      (await search('lantern -stove')).edges.map((e) => e.node.id),
      [ids.lantern],
    );
    assert.deepEqual(
      new Set((await search('coffee or chair')).edges.map((e) => e.node.id)),
      new Set([ids.mug, ids.chair]),
    );
  });

  it('matches nothing for an unknown word or only stop words', async () => {
    assert.deepEqual((await search('submarine')).edges, []);
    const stopWords = await search('the and of');
    assert.deepEqual(stopWords.edges, []);
    assert.equal(stopWords.pageInfo.hasNextPage, false);
  });

  it('pages through ranked results without duplicates or gaps', async () => {
    const all = (await search('folding or lantern or stove or enamel')).edges.map((e) => e.node.id);
    assert.equal(all.length, 4);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await search('folding or lantern or stove or enamel', 1, after);
      paged.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    assert.deepEqual(paged, all);
  });

  it('refuses an empty query and a malformed cursor, naming the field', async () => {
    for (const [variables, field] of [
      [{ q: '' }, 'query'],
      [{ q: '   ' }, 'query'],
      [{ q: 'lantern', after: 'garbage' }, 'after'],
      [{ q: 'lantern', first: -1 }, 'first'],
    ] as const) {
      const res = await h.call(SEARCH, variables);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(res.errors));
      assert.equal(res.errors?.[0]?.extensions?.field, field);
    }
  });
});
