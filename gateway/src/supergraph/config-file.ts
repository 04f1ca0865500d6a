import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The one reader of a rover-format `supergraph.yaml`
 * (`federation_version`, `subgraphs.<name>.routing_url`,
 * `subgraphs.<name>.schema.file`): the gateway composes from it at start, the
 * schema tools (scripts/schema/) check and compose with it.
 */
export interface SubgraphSource {
  name: string;
  url: string;
  /** Absolute path of the subgraph's SDL (`schema.file`, relative to the config file). */
  typeDefsPath: string;
}

export interface SupergraphConfigFile {
  federationVersion: string | undefined;
  subgraphs: SubgraphSource[];
}

interface RoverConfig {
  federation_version?: string;
  subgraphs?: Record<string, { routing_url?: string; schema?: { file?: string } } | null>;
}

/** Reads `configPath`; `text`, when given, is its content (e.g. the file as of a git ref). */
export function readSupergraphConfig(configPath: string, text?: string): SupergraphConfigFile {
  let raw: RoverConfig | null;
  try {
    raw = parseYaml(text ?? readFileSync(configPath, 'utf8')) as RoverConfig | null;
  } catch (error) {
    throw new Error(`SUPERGRAPH_CONFIG: cannot read ${configPath}: ${(error as Error).message}`);
  }
  const entries = Object.entries(raw?.subgraphs ?? {});
  if (entries.length === 0) throw new Error(`SUPERGRAPH_CONFIG: ${configPath} lists no subgraphs`);
  return {
    federationVersion: raw?.federation_version,
    subgraphs: entries.map(([name, entry]) => {
      if (!entry?.routing_url) throw new Error(`${configPath}: subgraphs.${name}.routing_url is missing`);
      if (!entry.schema?.file)
        throw new Error(`${configPath}: subgraphs.${name}.schema.file is missing (only file schemas are supported)`);
      return { name, url: entry.routing_url, typeDefsPath: resolve(dirname(configPath), entry.schema.file) };
    }),
  };
}
