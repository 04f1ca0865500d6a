import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSchema, parse, print, type OperationDefinitionNode } from 'graphql';
import { deniedFields, withoutDenied, type Caller } from '../../src/authorization/analysis.ts';
import { readRequirements } from '../../src/authorization/requirements.ts';
import { enforcedHere } from '../../src/supergraph/index.ts';

/**
 * The reading of the directives from a supergraph and the per-caller
 * verdicts; the end-to-end behaviour (filtering, nulls, audit) is in
 * test/security/authorization-directives.test.ts.
 */
const SUPERGRAPH = `
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "signedIn", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
{ query: Query }
directive @signedIn on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @link(url: String, as: String, for: String) repeatable on SCHEMA
type Query { node: Node, report: Report, open: String, audit: String @requiresScopes(scopes: [["staff", "audit"], ["admin"]]) }
interface Node { id: ID!, secret: String }
type Plain implements Node { id: ID!, secret: String }
type Vault implements Node { id: ID!, secret: String @signedIn }
type Report @signedIn { total: Int }
`;
const API = buildSchema(`
type Query { node: Node, report: Report, open: String, audit: String }
interface Node { id: ID!, secret: String }
type Plain implements Node { id: ID!, secret: String }
type Vault implements Node { id: ID!, secret: String }
type Report { total: Int }
`);
const requirements = readRequirements(SUPERGRAPH);
const anonymous: Caller = { signedIn: false, scopes: new Set() };
const as = (...scopes: string[]): Caller => ({ signedIn: true, scopes: new Set(scopes) });

const verdicts = (query: string, caller: Caller) => {
  const document = parse(query);
  const denied = deniedFields(API, document, document.definitions[0] as OperationDefinitionNode, requirements, caller);
  return [...denied.values()].map((d) => `${d.coordinate} ${d.refusal}`);
};

describe('authorization directives', () => {
  it('finds the directives under the names the links give them', () => {
    assert.deepEqual(requirements.of('Vault.secret'), { authenticated: true, scopes: [] });
    assert.equal(requirements.of('Plain.secret'), undefined);
  });

  it('a protected return type protects every field that returns it', () => {
    assert.deepEqual(verdicts('{ report { total } open }', anonymous), ['Query.report UNAUTHENTICATED']);
    assert.deepEqual(verdicts('{ report { total } }', as()), []);
  });

  it('scopes: any one inner list, all of its scopes', () => {
    assert.deepEqual(verdicts('{ audit }', as('staff')), ['Query.audit FORBIDDEN']);
    assert.deepEqual(verdicts('{ audit }', as('staff', 'audit')), []);
    assert.deepEqual(verdicts('{ audit }', as('admin')), []);
    assert.deepEqual(verdicts('{ audit }', anonymous), ['Query.audit UNAUTHENTICATED']);
  });

  it('a field selected on an interface counts every implementation', () => {
    assert.deepEqual(verdicts('{ node { id secret } }', anonymous), ['Node.secret UNAUTHENTICATED']);
    assert.deepEqual(verdicts('{ node { ... on Plain { secret } } }', anonymous), []);
  });

  it('fragments the operation spreads are checked; other operations are not', () => {
    const query = 'query A { ...F } query B { audit } fragment F on Query { report { total } }';
    const document = parse(query);
    const a = document.definitions[0] as OperationDefinitionNode;
    const denied = deniedFields(API, document, a, requirements, anonymous);
    assert.deepEqual(
      [...denied.values()].map((d) => d.coordinate),
      ['Query.report'],
    );
  });

  it('the shaped document keeps each response key and asks abstract types their __typename', () => {
    const document = parse('{ node { id secret } open r: report { total } }');
    const denied = deniedFields(
      API,
      document,
      document.definitions[0] as OperationDefinitionNode,
      requirements,
      anonymous,
    );
    assert.equal(
      print(withoutDenied(API, document, denied)).replace(/\s+/g, ' '),
      '{ node { id secret: __typename __typename } open r: __typename }',
    );
  });

  it('hands Apollo a supergraph whose enforced links carry no SECURITY purpose, and nothing else changed', () => {
    const served = enforcedHere(SUPERGRAPH);
    assert.doesNotMatch(served, /authenticated\/v0\.1", as: "signedIn", for: SECURITY/);
    assert.match(served, /@link\(url: "https:\/\/specs\.apollo\.dev\/authenticated\/v0\.1", as: "signedIn"\)/);
    assert.deepEqual(readRequirements(served).of('Vault.secret'), requirements.of('Vault.secret'));
    const plain = 'schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query } type Query { a: Int }';
    assert.equal(enforcedHere(plain), plain);
  });
});
