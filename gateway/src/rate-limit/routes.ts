import {
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';
import { joinGraphs } from '../supergraph/index.ts';

/**
 * Which subgraph serves each root field, read from the supergraph's join
 * directives (`@join__field(graph:)`, else the type's `@join__type`), so the
 * rate-limit routes follow the schema instead of a hand-kept list.
 * Keys are `Query.products`, `Mutation.logIn`, …; values are subgraph names.
 */
export interface RootFieldRoutes {
  /** Root type names by operation: usually Query, Mutation, Subscription. */
  rootTypes: Record<'query' | 'mutation' | 'subscription', string>;
  /** `Type.field` → the subgraphs that can resolve it (one, unless the field is shareable). */
  owners: Map<string, string[]>;
  /** `Type.field` → its argument names. */
  args: Map<string, string[]>;
  subgraphs: string[];
}

export function rootFieldRoutes(supergraphSdl: string | DocumentNode): RootFieldRoutes {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl;
  const rootTypes = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };
  const graphNames = new Map(joinGraphs(document).map((graph) => [graph.enumValue, graph.name]));
  const types = new Map<string, (ObjectTypeDefinitionNode | ObjectTypeExtensionNode)[]>();

  for (const definition of document.definitions) {
    if (definition.kind === Kind.SCHEMA_DEFINITION) {
      for (const op of definition.operationTypes) rootTypes[op.operation] = op.type.name.value;
    } else if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) {
      types.set(definition.name.value, [...(types.get(definition.name.value) ?? []), definition]);
    }
  }

  const owners = new Map<string, string[]>();
  const args = new Map<string, string[]>();
  const graphOf = (directive: ConstDirectiveNode) => {
    const value = directive.arguments?.find((a) => a.name.value === 'graph')?.value;
    return value?.kind === Kind.ENUM ? graphNames.get(value.value) : undefined;
  };
  for (const typeName of Object.values(rootTypes)) {
    for (const type of types.get(typeName) ?? []) {
      const typeGraphs = (type.directives ?? []).filter((d) => d.name.value === 'join__type').map(graphOf);
      for (const field of type.fields ?? []) {
        const joins = (field.directives ?? []).filter(
          (d) =>
            d.name.value === 'join__field' && !booleanArgument(d, 'external') && !booleanArgument(d, 'usedOverridden'),
        );
        const graphs = joins.length ? joins.map(graphOf) : typeGraphs;
        const key = `${typeName}.${field.name.value}`;
        owners.set(key, [...new Set(graphs.filter((g): g is string => Boolean(g)))].sort());
        args.set(
          key,
          (field.arguments ?? []).map((a) => a.name.value),
        );
      }
    }
  }
  return { rootTypes, owners, args, subgraphs: [...graphNames.values()].sort() };
}

function booleanArgument(directive: ConstDirectiveNode, name: string): boolean {
  const value = directive.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.BOOLEAN && value.value;
}
