import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { parseInstances, urlKey } from '../transport/index.ts';

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

interface RoverConfig {
  subgraphs?: Record<string, { routing_url?: string; schema?: { file?: string; subgraph_url?: string } }>;
}

export function readSubgraphsConfig(configPath: string): { name: string; url: string; typeDefsPath: string }[] {
  let raw: RoverConfig;
  try {
    raw = parseYaml(readFileSync(configPath, 'utf8')) as RoverConfig;
  } catch (error) {
    throw new Error(`SUPERGRAPH_CONFIG: cannot read ${configPath}: ${(error as Error).message}`);
  }
  const entries = Object.entries(raw?.subgraphs ?? {});
  if (entries.length === 0) throw new Error(`SUPERGRAPH_CONFIG: ${configPath} lists no subgraphs`);
  return entries.map(([name, entry]) => {
    if (!entry.routing_url) throw new Error(`${configPath}: subgraphs.${name}.routing_url is missing`);
    if (!entry.schema?.file)
      throw new Error(`${configPath}: subgraphs.${name}.schema.file is missing (only file schemas are supported)`);
    return { name, url: entry.routing_url, typeDefsPath: resolve(dirname(configPath), entry.schema.file) };
  });
}

export function composeFromConfig(configPath: string, urlOverrides: Record<string, string> = {}): Supergraph {
  // An override may list several instances (SUBGRAPH_URL_<NAME>); the supergraph names the first.
  const subgraphs = readSubgraphsConfig(configPath).map((s) => ({
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
  const subgraphs = [...sdl.matchAll(/@join__graph\(name:\s*"([^"]+)",\s*url:\s*"([^"]*)"\)/g)].map(
    ([, name, url]) => ({
      name: name!,
      url: routingUrl(name!, urlOverrides[name!]) ?? url!,
    }),
  );
  return { sdl, subgraphs };
}

/** The first instance of a SUBGRAPH_URL_<NAME> list; checked here, the first thing a start does, so a bad list stops it at once. */
const routingUrl = (name: string, override: string | undefined): string | undefined =>
  override === undefined ? undefined : parseInstances(urlKey(name), override)[0]!.url;
