import { Kind, parse } from 'graphql';

/** The names of the operations in trusted documents (hash → text): the operation names metrics always label. */
export function operationNamesOf(documents: ReadonlyMap<string, string>): Set<string> {
  const names = new Set<string>();
  for (const text of documents.values()) {
    try {
      for (const definition of parse(text, { noLocation: true }).definitions)
        if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.add(definition.name.value);
    } catch {
      // A manifest entry that does not parse is refused when it is asked for; it names nothing here.
    }
  }
  return names;
}
