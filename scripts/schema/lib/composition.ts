import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import {
  buildASTSchema,
  GraphQLError,
  parse,
  Source,
  type ASTNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import type { SupergraphConfig } from './supergraph-config.ts';

/**
 * Composes the subgraphs of a `supergraph.yaml` the way rover and the gateway
 * do (`composeServices` from @apollo/composition), keeping what a reviewer
 * needs from every error and hint: its code, the subgraphs it involves and
 * where in their files it is.
 */
export interface Location {
  file: string;
  line: number;
  column: number;
  /** The subgraph whose file this is, when it is one. */
  subgraph?: string;
}

export interface Problem {
  code: string;
  message: string;
  /** Every subgraph the problem involves (a conflict names at least two). */
  subgraphs: string[];
  locations: Location[];
}

export interface ComposedSubgraph {
  name: string;
  file: string;
  routingUrl: string;
  /** The SDL as read; absent when the file could not be read. */
  sdl?: string;
  /** The parsed SDL; absent when it does not parse. */
  document?: DocumentNode;
}

export interface CompositionReport {
  subgraphs: ComposedSubgraph[];
  /** Read and parse errors, then composition errors. Empty when it composed. */
  errors: Problem[];
  hints: Problem[];
  /** The supergraph SDL, when composition succeeded. */
  supergraphSdl?: string;
}

export function composeSupergraph(root: string, config: SupergraphConfig): CompositionReport {
  const errors: Problem[] = [];
  const subgraphs: ComposedSubgraph[] = config.subgraphs.map(({ name, file, routingUrl }) => {
    let sdl: string;
    try {
      sdl = readFileSync(join(root, file), 'utf8');
    } catch (error) {
      errors.push({
        code: 'SUBGRAPH_UNREADABLE',
        message: `cannot read ${file}: ${(error as Error).message}`,
        subgraphs: [name],
        locations: [],
      });
      return { name, file, routingUrl };
    }
    try {
      return { name, file, routingUrl, sdl, document: parse(new Source(sdl, file)) };
    } catch (error) {
      const e = error as GraphQLError;
      errors.push({
        code: 'INVALID_GRAPHQL',
        message: e.message,
        subgraphs: [name],
        locations: (e.locations ?? []).map((l) => ({ file, line: l.line, column: l.column, subgraph: name })),
      });
      return { name, file, routingUrl, sdl };
    }
  });
  if (errors.length) return { subgraphs, errors, hints: [] };

  const byFile = new Map(subgraphs.map((s) => [s.file, s.name]));
  const names = subgraphs.map((s) => s.name);
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.routingUrl, typeDefs: s.document! })));
  const hints = (result.hints ?? []).map((hint) =>
    toProblem(hint.definition.code, hint.message, hint.nodes ?? [], byFile, names),
  );
  if (result.errors) {
    for (const error of result.errors) {
      const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'COMPOSITION_ERROR';
      errors.push(toProblem(code, error.message, error.nodes ?? [], byFile, names));
    }
    return { subgraphs, errors, hints };
  }
  return { subgraphs, errors, hints, supergraphSdl: result.supergraphSdl };
}

function toProblem(
  code: string,
  message: string,
  nodes: readonly ASTNode[],
  byFile: Map<string, string>,
  names: string[],
): Problem {
  const locations: Location[] = [];
  const involved = new Set<string>();
  for (const node of nodes) {
    const loc = node.loc;
    const fromNode = (node as { subgraph?: unknown }).subgraph;
    if (typeof fromNode === 'string') involved.add(fromNode);
    if (!loc) continue;
    const file = loc.source.name;
    const subgraph = byFile.get(file) ?? (typeof fromNode === 'string' ? fromNode : undefined);
    if (subgraph) involved.add(subgraph);
    locations.push({
      file,
      line: loc.startToken.line,
      column: loc.startToken.column,
      ...(subgraph ? { subgraph } : {}),
    });
  }
  // Messages name subgraphs as `subgraph "orders"`, `subgraphs "orders" and "products"` or `[orders] …`.
  const lists = [...message.matchAll(/subgraphs? ((?:"[^"]+"(?:,? and |, )?)+)/g)].map((m) => m[1]!);
  const mentioned = [
    ...lists.flatMap((list) => [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!)),
    ...[...message.matchAll(/\[([^\]\s]+)\]/g)].map((m) => m[1]!),
  ];
  for (const name of mentioned) if (names.includes(name)) involved.add(name);
  const unique = new Map(locations.map((l) => [`${l.file}:${l.line}:${l.column}`, l]));
  return { code, message, subgraphs: [...involved].sort(), locations: [...unique.values()] };
}

/**
 * The schema clients see: the supergraph without federation machinery and @inaccessible elements.
 * No feature check: Apollo's default refuses `@authenticated`/`@requiresScopes` links, which
 * matters to a gateway that would serve without enforcing them (ours enforces them), not here.
 */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
}

/**
 * A subgraph's own schema, for diffing one team's changes. Federation
 * directives stay as usages (no definitions needed), so adding or removing
 * a `@key` shows up as a directive-usage change.
 */
export function subgraphSchemaOf(sdl: string, file: string): GraphQLSchema {
  return buildASTSchema(parse(new Source(sdl, file)), { assumeValid: true, assumeValidSDL: true });
}
