import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Requirement, Requirements } from './requirements.ts';

/** Who asks, as far as the directives care: signed in or not, and with which scopes. */
export interface Caller {
  signedIn: boolean;
  scopes: ReadonlySet<string>;
}

export type Refusal = 'UNAUTHENTICATED' | 'FORBIDDEN';

export interface Denial {
  refusal: Refusal;
  /** `Type.field`, for the audit trail. */
  coordinate: string;
}

/**
 * The fields of the operation (and of the fragments it spreads) that the
 * caller may not select. A field is refused when its own requirement, its
 * return type's, or its parent type's does not hold — the last so a fragment
 * on a protected type is refused field by field too. On an interface, each
 * implementation's field counts, since any of them may answer.
 */
export function deniedFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  requirements: Requirements,
  caller: Caller,
): Map<FieldNode, Denial> {
  const denied = new Map<FieldNode, Denial>();
  if (requirements.empty) return denied;
  const typeInfo = new TypeInfo(schema);
  const visitor = visitWithTypeInfo(typeInfo, {
    Field(node) {
      const parent = typeInfo.getParentType();
      const field = typeInfo.getFieldDef();
      if (!parent || !field) return;
      const coordinates = [parent.name, `${parent.name}.${field.name}`, getNamedType(field.type).name];
      if (isInterfaceType(parent))
        for (const type of schema.getPossibleTypes(parent)) coordinates.push(`${type.name}.${field.name}`);
      for (const coordinate of coordinates) {
        const refusal = refusalOf(requirements.of(coordinate), caller);
        if (refusal) {
          denied.set(node, { refusal, coordinate: `${parent.name}.${field.name}` });
          return false;
        }
      }
      return undefined;
    },
  });
  for (const definition of [operation, ...fragmentsUsedBy(document, operation)]) visit(definition, visitor);
  return denied;
}

function refusalOf(requirement: Requirement | undefined, caller: Caller): Refusal | undefined {
  if (!requirement) return undefined;
  if (!caller.signedIn) return 'UNAUTHENTICATED';
  const held = requirement.scopes.every(
    (anyOf) => anyOf.length === 0 || anyOf.some((allOf) => allOf.every((scope) => caller.scopes.has(scope))),
  );
  return held ? undefined : 'FORBIDDEN';
}

/** The fragment definitions the operation spreads, directly or through other fragments. */
function fragmentsUsedBy(document: DocumentNode, operation: OperationDefinitionNode): FragmentDefinitionNode[] {
  const byName = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) byName.set(definition.name.value, definition);
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = byName.get(selection.name.value);
        if (!fragment || used.has(fragment.name.value)) continue;
        used.set(fragment.name.value, fragment);
        walk(fragment.selectionSet);
      } else walk(selection.selectionSet);
    }
  };
  walk(operation.selectionSet);
  return [...used.values()];
}

/**
 * The document the subgraphs are asked instead: each refused field becomes
 * `<its response key>: __typename` (so no selection set empties and every
 * fragment stays used), and every selection set on an abstract type selects
 * `__typename`, so the answer can be shaped back to the client's own
 * document (enforce.ts) whatever concrete types came back.
 */
export function withoutDenied(
  schema: GraphQLSchema,
  document: DocumentNode,
  denied: ReadonlyMap<FieldNode, Denial>,
): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (!denied.has(node)) return undefined;
        const placeholder: FieldNode = {
          kind: Kind.FIELD,
          alias: { kind: Kind.NAME, value: (node.alias ?? node.name).value },
          name: { kind: Kind.NAME, value: '__typename' },
        };
        return placeholder;
      },
      SelectionSet(node) {
        const type = typeInfo.getParentType();
        if (!type || !isAbstractType(type)) return undefined;
        const typename: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };
        return { ...node, selections: [...node.selections, typename] };
      },
    }),
  );
}
