import { Kind, parse, print, visit } from 'graphql';

/** The federation spec's authorization features this gateway enforces (authorization/). */
export const AUTHENTICATED_SPEC = 'https://specs.apollo.dev/authenticated/';
export const REQUIRES_SCOPES_SPEC = 'https://specs.apollo.dev/requiresScopes/';

/**
 * The supergraph as handed to ApolloGateway and the subscription planner.
 * Both refuse a supergraph that links `@authenticated` or `@requiresScopes`
 * `for: SECURITY`, and rightly: they do not enforce them, and a gateway that
 * served such a schema without enforcing it would expose what it protects.
 * This gateway enforces them (authorization/), so their links lose only the
 * `for:` purpose here; the directives stay, for authorization/ to read.
 */
export function enforcedHere(supergraphSdl: string): string {
  const document = parse(supergraphSdl);
  let changed = false;
  const edited = visit(document, {
    Directive(node) {
      if (node.name.value !== 'link') return undefined;
      const url = node.arguments?.find((a) => a.name.value === 'url')?.value;
      if (url?.kind !== Kind.STRING || !ENFORCED_SPECS.some((spec) => url.value.startsWith(spec))) return undefined;
      changed = true;
      return { ...node, arguments: node.arguments?.filter((a) => a.name.value !== 'for') };
    },
  });
  return changed ? print(edited) : supergraphSdl;
}

const ENFORCED_SPECS = [AUTHENTICATED_SPEC, REQUIRES_SCOPES_SPEC];
