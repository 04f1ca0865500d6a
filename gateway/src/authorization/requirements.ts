import { Kind, parse, valueFromASTUntyped, type ConstDirectiveNode, type DocumentNode } from 'graphql';
import { AUTHENTICATED_SPEC, REQUIRES_SCOPES_SPEC } from '../supergraph/index.ts';

/**
 * What the supergraph says a caller needs to see each type and field: the
 * federation spec's `@authenticated` (any signed-in caller) and
 * `@requiresScopes(scopes: [[String]])` (one of the inner lists, all of its
 * scopes), as the subgraphs put them on their schemas and composition
 * carried them into the supergraph. The API schema Apollo Server validates
 * against no longer holds them, so they are read from the supergraph's SDL,
 * under the names its `@link`s give them.
 */
export interface Requirement {
  authenticated: boolean;
  /** Every entry must hold; an entry holds when the caller has all scopes of one of its lists. */
  scopes: string[][][];
}

export interface Requirements {
  /** By schema coordinate: `Type` or `Type.field`. */
  of(coordinate: string): Requirement | undefined;
  /** True when the supergraph places no requirement at all (nothing to check). */
  readonly empty: boolean;
}

export function readRequirements(supergraphSdl: string): Requirements {
  const document = parse(supergraphSdl, { noLocation: true });
  const names = linkedNames(document);
  const byCoordinate = new Map<string, Requirement>();
  const note = (coordinate: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    const requirement = requirementOf(directives ?? [], names);
    if (!requirement) return;
    const known = byCoordinate.get(coordinate);
    byCoordinate.set(
      coordinate,
      known
        ? {
            authenticated: known.authenticated || requirement.authenticated,
            scopes: [...known.scopes, ...requirement.scopes],
          }
        : requirement,
    );
  };
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        note(definition.name.value, definition.directives);
        for (const field of definition.fields ?? [])
          note(`${definition.name.value}.${field.name.value}`, field.directives);
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION:
        note(definition.name.value, definition.directives);
        break;
      default:
    }
  }
  return { of: (coordinate) => byCoordinate.get(coordinate), empty: byCoordinate.size === 0 };
}

interface LinkedNames {
  authenticated?: string;
  requiresScopes?: string;
}

/** The directives' names in this supergraph: `@link(url: …, as: …)` may rename them; absent links mean none. */
function linkedNames(document: DocumentNode): LinkedNames {
  const names: LinkedNames = {};
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const args = Object.fromEntries(
        (directive.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)] as const),
      );
      const url = typeof args.url === 'string' ? args.url : '';
      const as = typeof args.as === 'string' ? args.as : undefined;
      if (url.startsWith(AUTHENTICATED_SPEC)) names.authenticated = as ?? 'authenticated';
      if (url.startsWith(REQUIRES_SCOPES_SPEC)) names.requiresScopes = as ?? 'requiresScopes';
    }
  }
  return names;
}

function requirementOf(directives: readonly ConstDirectiveNode[], names: LinkedNames): Requirement | undefined {
  let authenticated = false;
  const scopes: string[][][] = [];
  for (const directive of directives) {
    if (directive.name.value === names.authenticated) authenticated = true;
    if (directive.name.value === names.requiresScopes) {
      const given = directive.arguments?.find((a) => a.name.value === 'scopes');
      const value: unknown = given ? valueFromASTUntyped(given.value) : [];
      if (Array.isArray(value))
        scopes.push(value.filter(Array.isArray).map((all: unknown[]) => all.map((scope) => String(scope))));
    }
  }
  return authenticated || scopes.length > 0 ? { authenticated, scopes } : undefined;
}
