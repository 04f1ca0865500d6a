import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Supergraph } from '@apollo/federation-internals';
import { getOperationAST, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { ConfigError } from '@storefront/platform/config';
import { maskErrors } from '@storefront/platform/server';
import { createLogger } from '@storefront/platform/logger';
import { loadGatewayConfig } from '../../src/config.ts';
import { clientErrors } from '../../src/errors/client-errors.ts';
import { operationCost } from '../../src/limits/cost.ts';
import { maxAliasesRule } from '../../src/limits/max-aliases.ts';
import { maxDepthRule } from '../../src/limits/max-depth.ts';
import { maxDirectivesRule } from '../../src/limits/max-directives.ts';
import { maxRootFieldsRule } from '../../src/limits/max-root-fields.ts';
import { composeFromConfig, enforcedHere } from '../../src/supergraph/index.ts';

/** The limits' arithmetic on the real composed API schema; the hostile-input suite checks them through HTTP. */
const schema: GraphQLSchema = Supergraph.build(enforcedHere(composeFromConfig('supergraph.yaml').sdl))
  .apiSchema()
  .toGraphQLJSSchema();
const defaults = loadGatewayConfig({});

const refusals = (query: string) =>
  validate(schema, parse(query), [
    ...specifiedRules,
    maxDepthRule(defaults.LIMIT_MAX_DEPTH),
    maxAliasesRule(defaults.LIMIT_MAX_ALIASES),
    maxDirectivesRule(defaults.LIMIT_MAX_DIRECTIVES),
    maxRootFieldsRule(defaults.LIMIT_MAX_ROOT_FIELDS),
  ]).map((e) => ({ limit: e.extensions.limit, message: e.message }));

const cost = (query: string, variables: Record<string, unknown> = {}) => {
  const document = parse(query);
  return operationCost({
    schema,
    document,
    operation: getOperationAST(document)!,
    variables,
    defaultListSize: defaults.LIMIT_DEFAULT_LIST_SIZE,
  });
};

/** `nest(['me', 'name'])` is `{ me { name } }`. */
const nest = (path: string[]): string =>
  `{ ${path.reduceRight((inner, field) => (inner ? `${field} { ${inner} }` : field), '')} }`;

/** What our clients send (README, test/e2e): all must pass every limit with the defaults. */
const CLIENT_QUERIES = {
  orderHistory: `{ me { name orders(first: 10) { edges { node { id status total { amount } items { quantity unitPrice { amount } product { name } } user { name } } } } } }`,
  relayShape: `{ me { orders { edges { node { items { product { name } } } } } } }`,
  order: `query($id: ID!) { order(id: $id) { id status total { amount currency } user { name } items { quantity unitPrice { amount } lineTotal { amount } product { name } } statusHistory { status } } }`,
  staffPage: `query($n: Int!) { orders(first: $n) { edges { node { id user { name } items { quantity product { name } } } } } }`,
  richStaffPage: `{ orders(first: 200) { edges { cursor node { id status version createdAt user { name email } total { amount currency }
    shippingAddress { line1 city country } statusHistory { status at } items { quantity unitPrice { amount } lineTotal { amount } product { name sku } } } }
    pageInfo { hasNextPage endCursor } } }`,
  catalog: `{ products(first: 5) { edges { node { id name price { amount currency } } } } }`,
  notifications: `{ me { notifications(first: 20) { edges { node { subject } } } } }`,
};

describe('operation limits', () => {
  it('defaults: depth 10, aliases 15, directives 50, tokens 1000, root fields 10, cost 25000, list size 20', () => {
    assert.deepEqual(
      [
        defaults.LIMIT_MAX_DEPTH,
        defaults.LIMIT_MAX_ALIASES,
        defaults.LIMIT_MAX_DIRECTIVES,
        defaults.LIMIT_MAX_TOKENS,
        defaults.LIMIT_MAX_ROOT_FIELDS,
        defaults.LIMIT_MAX_COST,
        defaults.LIMIT_DEFAULT_LIST_SIZE,
      ],
      [10, 15, 50, 1000, 10, 25_000, 20],
    );
  });

  it('refuses a bad limit setting with a message naming the key', () => {
    for (const [key, value] of [
      ['LIMIT_MAX_DEPTH', 'ten'],
      ['LIMIT_MAX_COST', '0'],
      ['LIMIT_MAX_TOKENS', '1.5'],
      ['LIMIT_DEFAULT_LIST_SIZE', '-1'],
    ] as const) {
      assert.throws(
        () => loadGatewayConfig({ [key]: value }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(`${key}: must be`),
        key,
      );
    }
    assert.equal(loadGatewayConfig({ LIMIT_MAX_DEPTH: '12' }).LIMIT_MAX_DEPTH, 12);
  });

  it('lets every client operation through', () => {
    for (const [name, query] of Object.entries(CLIENT_QUERIES)) {
      assert.deepEqual(refusals(query), [], name);
      const price = cost(query, { n: 200, id: 'x' });
      assert.ok(price <= defaults.LIMIT_MAX_COST, `${name} costs ${price}`);
    }
  });

  const TRUSTED_DOCUMENTS = 'clients/generated/trusted-documents.json';
  it(
    'lets every operation of the web and mobile clients through, at their largest page sizes',
    { skip: !existsSync(TRUSTED_DOCUMENTS) && `no ${TRUSTED_DOCUMENTS}` },
    () => {
      const documents = Object.values(JSON.parse(readFileSync(TRUSTED_DOCUMENTS, 'utf8')) as Record<string, string>);
      assert.ok(documents.length > 0);
      for (const text of documents) {
        const document = parse(text, { maxTokens: defaults.LIMIT_MAX_TOKENS });
        assert.deepEqual(refusals(text), [], text);
        const operation = getOperationAST(document)!;
        const largestPages = Object.fromEntries(
          (operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, 200]),
        );
        const price = operationCost({
          schema,
          document,
          operation,
          variables: largestPages,
          defaultListSize: defaults.LIMIT_DEFAULT_LIST_SIZE,
        });
        assert.ok(price <= defaults.LIMIT_MAX_COST, `${operation.name?.value} costs ${price}`);
      }
    },
  );

  it('measures depth in fields, through fragments, not counting introspection', () => {
    assert.deepEqual(refusals(CLIENT_QUERIES.relayShape), []); // depth 7
    const eleven = nest([
      'me',
      'orders',
      'edges',
      'node',
      'user',
      'orders',
      'edges',
      'node',
      'items',
      'product',
      'name',
    ]);
    assert.deepEqual(refusals(eleven), [
      { limit: 'depth', message: 'Operation is nested 11 levels deep; the limit is 10.' },
    ]);
    const viaFragments = `{ me { ...A } } fragment A on User { orders { edges { node { ...B } } } } fragment B on Order { user { orders { edges { node { ... on Order { user { orders { edges { cursor } } } } } } } } }`;
    assert.deepEqual(
      refusals(viaFragments).map((r) => r.message),
      ['Operation is nested 12 levels deep; the limit is 10.'],
    );
    assert.deepEqual(
      refusals(
        `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }`,
      ),
      [],
    );
  });

  it('counts aliases and directives at every spread of a fragment, in linear time', () => {
    const aliases = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: name`).join(' ');
    assert.deepEqual(refusals(`{ categories { ${aliases(15)} } }`), []);
    assert.deepEqual(
      refusals(`{ categories { ${aliases(16)} } }`).map((r) => r.limit),
      ['aliases'],
    );
    assert.deepEqual(
      refusals(`{ categories { ...F ...F } } fragment F on Category { ${aliases(8)} }`).map((r) => r.message),
      ['Operation uses 16 aliases; the limit is 15.'],
    );
    // 2^30 spreads of a fragment with one directive: counted, not walked.
    const fragments = Array.from(
      { length: 30 },
      (_, i) => `fragment F${i} on Category { ...F${i + 1} ...F${i + 1} }`,
    ).join(' ');
    const started = performance.now();
    const found = refusals(
      `{ categories { ...F0 } } ${fragments} fragment F30 on Category { name @include(if: true) }`,
    );
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(found, [
      { limit: 'directives', message: `Operation uses ${2 ** 30} directives; the limit is 50.` },
    ]);
  });

  it('counts directives on the operation, variables, fields and fragments', () => {
    const fields = (n: number) => Array.from({ length: n }, () => 'id @include(if: true)').join(' ');
    assert.deepEqual(refusals(`{ me { ${fields(50)} } }`), []);
    assert.deepEqual(
      refusals(`{ me { ${fields(51)} } }`).map((r) => r.limit),
      ['directives'],
    );
    assert.deepEqual(
      refusals(
        `{ me { ${fields(49)} ... @skip(if: false) { id } ... F @include(if: true) } } fragment F on User { id }`,
      ).map((r) => r.limit),
      ['directives'],
    );
  });

  it('counts distinct root response keys, through fragments, without __typename', () => {
    const roots = (n: number) => Array.from({ length: n }, (_, i) => `p${i}: product(id: "${i}") { id }`).join(' ');
    assert.deepEqual(refusals(`{ __typename ${roots(10)} }`), []);
    assert.deepEqual(refusals(`{ categories { id } categories { name } ${roots(9)} }`), []);
    assert.deepEqual(
      refusals(`{ ${roots(11)} }`).map((r) => r.message),
      ['Operation selects 11 root fields; the limit is 10.'],
    );
    assert.deepEqual(
      refusals(`{ ...Q me { id } } fragment Q on Query { ${roots(10)} }`).map((r) => r.limit),
      ['rootFields'],
    );
  });

  it('costs objects, multiplying by page sizes down the tree', () => {
    assert.equal(cost(`{ categories { id name } }`), 20);
    assert.equal(cost(`{ product(id: "1") { name price { amount } category { name } } }`), 3);
    // 1 connection + 200 × (edge + node + user + 20 × (item + product))
    assert.equal(cost(CLIENT_QUERIES.staffPage, { n: 200 }), 1 + 200 * (3 + 20 * 2));
    assert.equal(cost(CLIENT_QUERIES.staffPage, { n: 10 }), 1 + 10 * (3 + 20 * 2));
    // pageInfo is one object per connection, not per edge
    assert.equal(cost(`{ products(first: 50) { pageInfo { hasNextPage } edges { node { id } } } }`), 1 + 1 + 50 * 2);
    // absent `first`: the default page of 20; a variable's default value counts
    assert.equal(cost(`{ products { edges { node { id } } } }`), 1 + 20 * 2);
    assert.equal(cost(`query($n: Int = 7) { products(first: $n) { edges { node { id } } } }`), 1 + 7 * 2);
    // a page nested in a page
    assert.equal(
      cost(
        `{ products(first: 200) { edges { node { category { products(first: 200) { edges { node { id } } } } } } } }`,
      ),
      1 + 200 * (2 + 1 + 1 + 200 * 2),
    );
    // fragments cost what they would written out, inside a connection too
    assert.equal(
      cost(
        `{ products(first: 30) { ...Page } } fragment Page on ProductConnection { edges { node { ...P } } } fragment P on Product { category { name } price { amount } }`,
      ),
      1 + 30 * (2 + 2),
    );
    // a first above the subgraphs' maximum is counted as asked
    assert.equal(
      cost(`query($n: Int) { orders(first: $n) { edges { node { id } } } }`, { n: 1_000_000 }),
      1 + 1_000_000 * 2,
    );
  });

  it('hides suggestions only in production', () => {
    const mask = maskErrors(createLogger({ name: 'test', level: 'silent' }));
    const coercion = {
      message:
        'Variable "$s" got invalid value "PAYED"; Value "PAYED" does not exist in "OrderStatus" enum. Did you mean the enum value "PAID"?',
      extensions: { code: 'BAD_USER_INPUT' },
    };
    assert.equal(
      clientErrors(mask, { hideSuggestions: true })(coercion, new Error()).message,
      'Variable "$s" got invalid value "PAYED"; Value "PAYED" does not exist in "OrderStatus" enum.',
    );
    assert.equal(clientErrors(mask, { hideSuggestions: false })(coercion, new Error()).message, coercion.message);
  });
});
