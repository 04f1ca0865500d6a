import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getNamedType, isNonNullType, isObjectType, type DocumentNode, type GraphQLObjectType } from 'graphql';
import { allow, type IRules } from 'graphql-shield';
import { notificationsPermissions, notificationsTypeDefs } from '@storefront/notifications';
import { ordersPermissions, ordersTypeDefs } from '@storefront/orders';
import { productsPermissions, productsTypeDefs } from '@storefront/products';
import { usersPermissions, usersTypeDefs } from '@storefront/users';

/**
 * Deny by default is only safe if nothing relies on the default: every field
 * of every object type of every subgraph (federation's `_service`,
 * `_entities`, `_Service` and entity stubs included) must have an explicit
 * rule in that subgraph's graphql-shield rule tree. A type-level rule, or a
 * `'*'` entry in a type's field map, covers all of the type's fields — the
 * same way graphql-shield's generator applies them.
 *
 * Protected fields must be nullable, so a denial nulls only that field, not
 * its parent: any object field whose rule is not public and is not the same
 * rule as all its siblings is an offender when non-null. Exempt, on purpose:
 *   - root fields (Query/Mutation/Subscription): a denial there is the
 *     answer to that root field itself;
 *   - fields of a type guarded as a whole (one rule for every field, e.g.
 *     `Order: ownerOrStaff`): there the object is the unit being protected,
 *     and a denial nulls the object (the nearest nullable position), never a
 *     sibling object.
 */
const SUBGRAPHS: [name: string, typeDefs: DocumentNode, permissions: IRules][] = [
  ['users', usersTypeDefs, usersPermissions],
  ['products', productsTypeDefs, productsPermissions],
  ['orders', ordersTypeDefs, ordersPermissions],
  ['notifications', notificationsTypeDefs, notificationsPermissions],
];

type Rule = Exclude<IRules, Record<string, unknown>> | object;

/** graphql-shield's rules are class instances; field maps are plain objects. */
const isRule = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) !== Object.prototype;
const isFieldMap = (value: unknown): value is Record<string, Rule> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** The rule graphql-shield will apply to `type.field`, or undefined when it would fall back to the default. */
function ruleFor(permissions: IRules, type: string, field: string): Rule | undefined {
  if (isRule(permissions)) return permissions;
  const entry = (permissions as Record<string, unknown>)[type];
  if (isRule(entry)) return entry as Rule;
  if (isFieldMap(entry)) return entry[field] ?? entry['*'];
  return undefined;
}

function objectTypes(typeDefs: DocumentNode): GraphQLObjectType[] {
  const schema = buildSubgraphSchema({ typeDefs });
  return Object.values(schema.getTypeMap())
    .filter(isObjectType)
    .filter((type) => !type.name.startsWith('__'));
}

describe('every field has an explicit graphql-shield rule', () => {
  for (const [name, typeDefs, permissions] of SUBGRAPHS) {
    it(`${name}: no field relies on the deny-by-default fallback`, (t) => {
      const types = objectTypes(typeDefs);
      const missing: string[] = [];
      let fields = 0;
      for (const type of types) {
        for (const field of Object.keys(type.getFields())) {
          fields += 1;
          if (!ruleFor(permissions, type.name, field)) missing.push(`${type.name}.${field}`);
        }
      }
      // The federation fields must be in the walk, or the walk is wrong.
      for (const required of ['Query._service', 'Query._entities', '_Service.sdl']) {
        assert.ok(
          types.some(
            (type) =>
              `${type.name}.${Object.keys(type.getFields()).find((f) => required.endsWith(`.${f}`))}` === required,
          ),
          `${name}: ${required} not walked`,
        );
      }
      t.diagnostic(`${name}: ${types.length} object types, ${fields} fields, ${missing.length} without a rule`);
      assert.deepEqual(missing, [], `${name}: fields without an explicit rule: ${missing.join(', ')}`);
    });

    it(`${name}: the rule tree names only types and fields of the schema`, () => {
      const types = new Map(objectTypes(typeDefs).map((type) => [type.name, type]));
      const stale: string[] = [];
      for (const [typeName, entry] of Object.entries(permissions as Record<string, unknown>)) {
        const type = types.get(typeName);
        if (!type) stale.push(typeName);
        else if (isFieldMap(entry)) {
          for (const field of Object.keys(entry))
            if (field !== '*' && !type.getFields()[field]) stale.push(`${typeName}.${field}`);
        }
      }
      assert.deepEqual(stale, [], `${name}: rules for things not in the schema: ${stale.join(', ')}`);
    });

    it(`${name}: every field behind a non-public, field-level rule is nullable`, (t) => {
      const schema = buildSubgraphSchema({ typeDefs });
      const roots = new Set(
        [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]
          .filter(Boolean)
          .map((type) => type!.name),
      );
      const offenders: string[] = [];
      let guarded = 0;
      for (const type of objectTypes(typeDefs)) {
        if (roots.has(type.name)) continue;
        const fields = Object.values(type.getFields());
        const rules = fields.map((field) => ruleFor(permissions, type.name, field.name));
        if (rules.every((rule) => rule === rules[0])) continue; // guarded as a whole (or public as a whole)
        fields.forEach((field, i) => {
          if (rules[i] === allow) return;
          guarded += 1;
          if (isNonNullType(field.type))
            offenders.push(`${type.name}.${field.name}: ${String(field.type)} (${getNamedType(field.type).name})`);
        });
      }
      t.diagnostic(`${name}: ${guarded} field-level guarded fields, ${offenders.length} non-null`);
      assert.deepEqual(
        offenders,
        [],
        `${name}: guarded fields that are non-null (a denial would null their parent): ${offenders.join(', ')}`,
      );
    });
  }
});
