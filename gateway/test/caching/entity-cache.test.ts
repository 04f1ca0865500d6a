import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { createEntityCache, isEntityFetch } from '../../src/caching/entity-cache/index.ts';
import { ReceivedHeaders } from '../../src/transport/received-response.ts';

/**
 * What the entity cache gives the gateway when part of a fetch is cached:
 * the subgraph's answer for the rest, in the original places, its errors
 * pointing at the original places, and a cache policy no longer-lived than
 * what it reused. The end-to-end suite (test/e2e/entity-cache.test.ts) shows
 * it on the real services; these are the cases a healthy subgraph does not
 * produce on demand.
 */
const QUERY =
  'query Page__products__1($representations:[_Any!]!){_entities(representations:$representations){...on Product{name}}}';
const product = (id: string) => ({ __typename: 'Product', id });

function fakeSubgraph(answer: (ids: string[]) => Partial<GatewayGraphQLResponse>, cacheControl = 'max-age=60, public') {
  const sent: string[][] = [];
  const send = async (request: GatewayGraphQLRequest): Promise<GatewayGraphQLResponse> => {
    const ids = (request.variables!.representations as { id: string }[]).map((r) => r.id);
    sent.push(ids);
    return { ...answer(ids), http: { status: 200, headers: new ReceivedHeaders({ 'cache-control': cacheControl }) } };
  };
  return { sent, send };
}

const names = (ids: string[]) => ({ data: { _entities: ids.map((id) => ({ name: `product ${id}` })) } });

function cache(generation = () => '0:1') {
  return createEntityCache({
    config: { ENTITY_CACHE: true, ENTITY_CACHE_MEMORY_MB: 1, ENTITY_CACHE_MAX_AGE_SECONDS: 30 },
    generation,
    deployment: () => 'd1',
  });
}

const fetchOf = (
  ids: string[],
  send: (r: GatewayGraphQLRequest) => Promise<GatewayGraphQLResponse>,
  caller = 'CUSTOMER\n',
) => ({
  subgraph: 'products',
  request: { query: QUERY, variables: { representations: ids.map(product) } },
  caller,
  send,
});

describe('entity cache', () => {
  it('recognises the entity fetches the query planner makes, and nothing else', () => {
    assert.equal(isEntityFetch({ query: QUERY, variables: { representations: [product('1')] } }), true);
    assert.equal(isEntityFetch({ query: '{ products(first: 1) { edges { node { id } } } }', variables: {} }), false);
    assert.equal(isEntityFetch({ query: QUERY, variables: {} }), false);
  });

  it('sends only what it lacks, and puts every entity back in its place, each its own copy', async () => {
    const entities = cache();
    const subgraph = fakeSubgraph(names);
    await entities.fetch(fetchOf(['a', 'b'], subgraph.send));
    const answer = await entities.fetch(fetchOf(['c', 'a', 'c', 'b'], subgraph.send));
    assert.deepEqual(subgraph.sent, [['a', 'b'], ['c']]);
    assert.deepEqual(
      answer.data!._entities,
      ['c', 'a', 'c', 'b'].map((id) => ({ name: `product ${id}` })),
    );
    assert.notEqual(answer.data!._entities[0], answer.data!._entities[2]);
    assert.deepEqual(entities.stats(), { hits: 2, misses: 3, stores: 3 });
  });

  it("points a partial fetch's errors at the entities' original places, and keeps nothing of it", async () => {
    const entities = cache();
    await entities.fetch(fetchOf(['a'], fakeSubgraph(names).send));
    const failing = fakeSubgraph((ids) => ({
      data: { _entities: ids.map((id) => (id === 'c' ? null : { name: `product ${id}` })) },
      errors: [{ message: 'not found', path: ['_entities', 1, 'name'] }],
    }));
    const answer = await entities.fetch(fetchOf(['a', 'b', 'c'], failing.send));
    assert.deepEqual(failing.sent, [['b', 'c']]);
    assert.deepEqual(answer.data!._entities, [{ name: 'product a' }, { name: 'product b' }, null]);
    assert.deepEqual(answer.errors, [{ message: 'not found', path: ['_entities', 2, 'name'] }]);
    // Not kept: the next fetch asks again for both.
    const again = fakeSubgraph(names);
    await entities.fetch(fetchOf(['b', 'c'], again.send));
    assert.deepEqual(again.sent, [['b', 'c']]);
  });

  it('keeps nothing a subgraph answers as private, and looks no more for that selection', async () => {
    const entities = cache();
    const subgraph = fakeSubgraph(names, 'max-age=60, private');
    await entities.fetch(fetchOf(['a'], subgraph.send));
    await entities.fetch(fetchOf(['a'], subgraph.send));
    assert.deepEqual(subgraph.sent, [['a'], ['a']]);
    assert.deepEqual(entities.stats(), { hits: 0, misses: 1, stores: 0 });
  });

  it('tells the gateway an answer made from the cache may be kept no longer than its entities', async () => {
    const entities = cache();
    await entities.fetch(fetchOf(['a'], fakeSubgraph(names, 'max-age=5, public').send));
    const fromCache = await entities.fetch(fetchOf(['a'], fakeSubgraph(names).send));
    assert.match(fromCache.http!.headers.get('cache-control')!, /^max-age=[45], public$/);
    const mixed = await entities.fetch(fetchOf(['a', 'b'], fakeSubgraph(names, 'max-age=60, public').send));
    assert.match(mixed.http!.headers.get('cache-control')!, /^max-age=[45], public$/);
  });

  it("never serves one role's entities to another role, nor across a catalog change", async () => {
    let generation = '0:1';
    const entities = cache(() => generation);
    await entities.fetch(fetchOf(['a'], fakeSubgraph(names).send, 'CUSTOMER\n'));
    const staff = fakeSubgraph(names);
    await entities.fetch(fetchOf(['a'], staff.send, 'STAFF\n'));
    assert.deepEqual(staff.sent, [['a']]);
    generation = '0:2';
    const afterChange = fakeSubgraph(names);
    await entities.fetch(fetchOf(['a'], afterChange.send, 'CUSTOMER\n'));
    assert.deepEqual(afterChange.sent, [['a']]);
  });
});
