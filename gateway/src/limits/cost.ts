import {
  getNamedType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { fragmentsOf } from './fragments.ts';

/**
 * The most objects an operation can return, before anything runs.
 *
 * Every object-typed field counts 1 for each object it can return; a list
 * returns as many objects as its page size, and the page size multiplies down
 * the tree. The page size is the `first` (or `last`) argument, read with the
 * request's variables, of the list field itself or, for a Relay connection,
 * of the connection field above its `edges`/`nodes` lists; without one it is
 * `defaultListSize` (the subgraphs' default page). A `first` above the
 * subgraphs' maximum is counted as asked: such a request fails there anyway,
 * and the cost must never be lower than what the client asked for.
 * Scalars are free; the token limit bounds how many a document can name.
 *
 *   orders(first: 200) { edges { node { id items { product { name } } } } }
 *   = 1 (connection) + 200 × (1 edge + 1 node + 20 × (1 item + 1 product)) = 8,401
 */
export interface CostInput {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  defaultListSize: number;
}

export function operationCost({ schema, document, operation, variables, defaultListSize }: CostInput): number {
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) values[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  Object.assign(values, variables);

  const getFragment = fragmentsOf(document);
  // A fragment's cost depends only on the page size its enclosing connection hands down.
  const fragmentCosts = new Map<string, number>();
  const fragmentCost = (name: string, connectionSize: number | undefined): number => {
    const key = `${name}|${connectionSize ?? ''}`;
    const known = fragmentCosts.get(key);
    if (known !== undefined) return known;
    const fragment = getFragment(name);
    const type = fragment && schema.getType(fragment.typeCondition.name.value);
    if (!fragment || !isCompositeType(type)) return 0;
    fragmentCosts.set(key, 0); // a fragment cycle (validation refuses those) ends here
    const cost = selectionsCost(fragment.selectionSet, type, connectionSize);
    fragmentCosts.set(key, cost);
    return cost;
  };

  /** Cost of one object's selections; `connectionSize` sizes the lists directly inside it. */
  function selectionsCost(
    set: SelectionSetNode,
    parent: GraphQLCompositeType,
    connectionSize: number | undefined,
  ): number {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) total += fieldCost(selection, parent, connectionSize);
      else if (selection.kind === Kind.FRAGMENT_SPREAD) total += fragmentCost(selection.name.value, connectionSize);
      else {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (isCompositeType(type)) total += selectionsCost(selection.selectionSet, type, connectionSize);
      }
    }
    return total;
  }

  function fieldCost(field: FieldNode, parent: GraphQLCompositeType, connectionSize: number | undefined): number {
    if (!field.selectionSet || field.name.value.startsWith('__')) return 0;
    if (!isObjectType(parent) && !isInterfaceType(parent)) return 0;
    const definition = parent.getFields()[field.name.value];
    if (!definition) return 0;
    const type = getNamedType(definition.type);
    if (!isCompositeType(type)) return 0;

    const requested = pageSizeArgument(field, values);
    const lists = listDepth(definition.type);
    const objects = (requested ?? connectionSize ?? defaultListSize) ** lists;
    if (objects === 0) return 0;
    return objects * (1 + selectionsCost(field.selectionSet, type, lists ? undefined : requested));
  }

  const root = schema.getRootType(operation.operation);
  return root ? selectionsCost(operation.selectionSet, root, undefined) : 0;
}

function pageSizeArgument(field: FieldNode, variables: Record<string, unknown>): number | undefined {
  let size: number | undefined;
  for (const argument of field.arguments ?? []) {
    if (argument.name.value !== 'first' && argument.name.value !== 'last') continue;
    const value = valueFromASTUntyped(argument.value, variables);
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) size = Math.max(size ?? 0, Math.ceil(value));
  }
  return size;
}

/** How many list wrappers a type has: `[Order!]!` is 1, `[[Int]]` is 2. */
function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  let current: GraphQLOutputType = type;
  for (;;) {
    if (isNonNullType(current)) current = current.ofType;
    else if (isListType(current)) {
      depth += 1;
      current = current.ofType;
    } else return depth;
  }
}
