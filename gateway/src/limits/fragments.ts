import { Kind, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

/**
 * Measures each named fragment once per operation check, however often it is
 * spread. Limits must count a fragment at every spread (that is what executes),
 * but a document can spread a fragment that spreads another twice, and so on:
 * walking every spread takes exponential time, remembering each fragment's
 * measure keeps it linear.
 *
 * A fragment reached again while it is being measured (a cycle, which
 * graphql's own NoFragmentCycles rule reports) and an unknown fragment measure
 * as `unknown`.
 */
export function memoizeFragments<T>(
  getFragment: (name: string) => FragmentDefinitionNode | undefined,
  measure: (fragment: FragmentDefinitionNode) => T,
  unknown: T,
): (name: string) => T {
  const measured = new Map<string, T>();
  return (name) => {
    if (measured.has(name)) return measured.get(name)!;
    const fragment = getFragment(name);
    if (!fragment) return unknown;
    measured.set(name, unknown);
    const value = measure(fragment);
    measured.set(name, value);
    return value;
  };
}

export function fragmentsOf(document: DocumentNode): (name: string) => FragmentDefinitionNode | undefined {
  const byName = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) byName.set(definition.name.value, definition);
  }
  return (name) => byName.get(name);
}
