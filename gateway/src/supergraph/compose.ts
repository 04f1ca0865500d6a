import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parseInstances, urlKey } from '../transport/index.ts';
import { readSupergraphConfig } from './config-file.ts';
import { joinGraphs } from './join-graphs.ts';

/**
 * Builds the supergraph SDL the gateway serves, either by composing the
 * subgraphs listed in a rover-format `supergraph.yaml` (what rover would do,
 * without needing rover) or by reading a prebuilt SDL file.
 */
export interface SubgraphEndpoint {
  name: string;
  url: string;
}

export interface Supergraph {
  sdl: string;
  subgraphs: SubgraphEndpoint[];
}

export class CompositionError extends Error {
  constructor(readonly problems: string[]) {
    super(`The supergraph does not compose:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CompositionError';
  }
}

export function composeFromConfig(configPath: string, urlOverrides: Record<string, string> = {}): Supergraph {
  // An override may list several instances (SUBGRAPH_URL_<NAME>); the supergraph names the first.
  const subgraphs = readSupergraphConfig(configPath).subgraphs.map((s) => ({
    ...s,
    url: routingUrl(s.name, urlOverrides[s.name]) ?? s.url,
  }));
  const problems: string[] = [];
  const services = subgraphs.flatMap((s) => {
    try {
      return [{ name: s.name, url: s.url, typeDefs: parse(readFileSync(s.typeDefsPath, 'utf8')) }];
    } catch (error) {
      problems.push(`${s.name} (${s.typeDefsPath}): ${(error as Error).message}`);
      return [];
    }
  });
  if (problems.length) throw new CompositionError(problems);
  const result = composeServices(services);
  if (result.errors) {
    throw new CompositionError(result.errors.map((e) => e.message));
  }
  return { sdl: result.supergraphSdl, subgraphs: subgraphs.map(({ name, url }) => ({ name, url })) };
}

/** Reads a prebuilt supergraph; subgraph URLs come from its `@join__graph` directives. */
export function readSupergraphSdl(path: string, urlOverrides: Record<string, string> = {}): Supergraph {
  let sdl: string;
  try {
    sdl = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`SUPERGRAPH_SDL: cannot read ${path}: ${(error as Error).message}`);
  }
  return supergraphFromSdl(sdl, urlOverrides);
}

/**
 * A prebuilt supergraph's subgraphs and where each runs (`@join__graph` URLs, or SUBGRAPH_URL_<NAME>).
 * Throws when the SDL does not parse or a subgraph has no URL at all.
 */
export function supergraphFromSdl(sdl: string, urlOverrides: Record<string, string> = {}): Supergraph {
  const subgraphs = joinGraphs(parse(sdl)).map(({ name, url }) => {
    const resolved = routingUrl(name, urlOverrides[name]) ?? url;
    if (resolved === undefined)
      throw new Error(`subgraph "${name}" has no routing URL in the supergraph and no ${urlKey(name)}`);
    return { name, url: resolved };
  });
  return { sdl, subgraphs };
}

/** The first instance of a SUBGRAPH_URL_<NAME> list; checked here, the first thing a start does, so a bad list stops it at once. */
const routingUrl = (name: string, override: string | undefined): string | undefined =>
  override === undefined ? undefined : parseInstances(urlKey(name), override)[0]!.url;
