import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execute, parse, type GraphQLObjectType } from 'graphql';
import { allow, rule } from 'graphql-shield';
import type { BaseContext } from '../src/service/context.ts';
import { isAuthenticated, isStaff, ownerOrStaff } from '../src/service/rules.ts';
import { buildProtectedSchema } from '../src/service/subgraph.ts';
import { createLogger } from '../src/logger/logger.ts';

/**
 * Fields whose rule is `allow` (isPublic) keep their bare resolvers: the
 * shield's async wrapper on every public scalar of a page was most of a
 * public page's CPU. Every other field — its own rule, its type's rule, the
 * type's `*`, or the fallback (deny) for anything unlisted — is still checked.
 */
const typeDefs = parse(`
  type Query { shelf: [Item!]! secret: Int  unlisted: Int  me: Owner }
  type Item { id: ID!  name: String!  stock: Int  owner: Owner }
  type Owner { id: ID!  email: String }
  type Vault { code: Int }
  type Star { a: Int  b: Int }
  extend type Query { vault: Vault  star: Star }
`);
const resolvers = {
  Query: {
    shelf: () => [{ id: 'i1', name: 'Lamp', stock: 3, owner: { id: 'u1', email: 'u1@x' } }],
    secret: () => 42,
    unlisted: () => 7,
    vault: () => ({ code: 1234 }),
    star: () => ({ a: 1, b: 2 }),
  },
};
let wildcardChecks = 0;
const counted = rule({ cache: 'no_cache' })(() => {
  wildcardChecks += 1;
  return true;
});
const permissions = {
  Query: { shelf: allow, secret: isStaff, me: isAuthenticated, vault: allow, star: allow, _service: allow },
  _Service: allow,
  Item: { id: allow, name: allow, stock: isStaff, owner: allow },
  Owner: ownerOrStaff<{ id: string }>('ownerOfOwner', (owner) => owner.id),
  // Vault: no rule at all, so its fields fall back to deny.
  Star: { a: allow, '*': counted },
};
const schema = buildProtectedSchema(typeDefs, resolvers, permissions);
const logger = createLogger({ name: 'test', level: 'silent' });
const run = async (query: string, identity: BaseContext['identity']) =>
  execute({ schema, document: parse(query), contextValue: { identity, requestId: 'r', logger } });
const customer = { userId: 'u1', role: 'CUSTOMER' as const };
const stranger = { userId: 'u2', role: 'CUSTOMER' as const };

describe('subgraph schema: public fields without the shield wrapper', () => {
  it('leaves allow-only fields unwrapped and wraps every other one', () => {
    const fields = (type: string) => (schema.getType(type) as GraphQLObjectType).getFields();
    // A public field with no resolver of its own stays a plain property read.
    assert.equal(fields('Item').name!.resolve, undefined);
    assert.equal(fields('Item').id!.resolve, undefined);
    for (const [type, field] of [
      ['Item', 'stock'],
      ['Owner', 'email'],
      ['Owner', 'id'],
      ['Query', 'secret'],
      ['Query', 'unlisted'],
      ['Vault', 'code'],
      ['Star', 'b'],
    ] as const)
      assert.equal(typeof fields(type)[field]!.resolve, 'function', `${type}.${field} keeps its check`);
  });

  it('still answers public fields and refuses the others as before', async () => {
    wildcardChecks = 0;
    const asCustomer = await run('{ shelf { id name stock owner { id email } } star { a b } }', customer);
    assert.deepEqual(JSON.parse(JSON.stringify(asCustomer.data)), {
      shelf: [{ id: 'i1', name: 'Lamp', stock: null, owner: { id: 'u1', email: 'u1@x' } }],
      star: { a: 1, b: 2 },
    });
    assert.deepEqual(
      asCustomer.errors?.map((e) => [e.path?.join('.'), e.extensions.code]),
      [['shelf.0.stock', 'FORBIDDEN']],
    );
    assert.equal(wildcardChecks, 1, "the '*' rule ran for Star.b only");

    // The owner rule still looks at each object: another customer gets nothing of it.
    const asStranger = await run('{ shelf { owner { email } } }', stranger);
    assert.deepEqual(JSON.parse(JSON.stringify(asStranger.data)), { shelf: [{ owner: { email: null } }] });
    assert.ok(asStranger.errors?.some((e) => e.extensions.code === 'FORBIDDEN'));

    // Unlisted root fields and types without rules fall back to deny.
    const unlisted = await run('{ unlisted vault { code } secret }', customer);
    assert.deepEqual(JSON.parse(JSON.stringify(unlisted.data)), {
      unlisted: null,
      vault: { code: null },
      secret: null,
    });
    assert.equal(unlisted.errors?.length, 3);
    assert.ok(unlisted.errors?.every((e) => e.extensions.code === 'FORBIDDEN'));
  });
});
