import { Kind, type ConstDirectiveNode, type DocumentNode } from 'graphql';

/**
 * The subgraphs a supergraph names: each value of its `join__Graph` enum,
 * with the `@join__graph(name:, url:)` on it. The one reader of those
 * directives, for the gateway serving a prebuilt SDL and for the rate-limit
 * routes.
 */
export interface JoinGraph {
  /** The enum value the join directives refer to (`graph: ORDERS`). */
  enumValue: string;
  /** The subgraph's name; the enum value in lower case when the directive has none. */
  name: string;
  /** Its routing URL, when the supergraph records one. */
  url: string | undefined;
}

export function joinGraphs(document: DocumentNode): JoinGraph[] {
  const graphs: JoinGraph[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      graphs.push({
        enumValue: value.name.value,
        name: stringArgument(directive, 'name') ?? value.name.value.toLowerCase(),
        url: stringArgument(directive, 'url'),
      });
    }
  }
  return graphs;
}

function stringArgument(directive: ConstDirectiveNode | undefined, name: string): string | undefined {
  const value = directive?.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}
