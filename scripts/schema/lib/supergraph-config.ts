import { readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The subgraphs listed in a rover-format `supergraph.yaml`
 * (`subgraphs.<name>.routing_url`, `subgraphs.<name>.schema.file`).
 * File paths are returned relative to the repository root, with forward
 * slashes, because they double as `git show <ref>:<path>` paths.
 */
export interface SubgraphEntry {
  name: string;
  routingUrl: string;
  /** Path of the subgraph's SDL, relative to the repository root. */
  file: string;
}

export interface SupergraphConfig {
  /** Relative to the repository root. */
  path: string;
  federationVersion: string | undefined;
  subgraphs: SubgraphEntry[];
}

interface RoverConfig {
  federation_version?: string;
  subgraphs?: Record<string, { routing_url?: string; schema?: { file?: string } } | null>;
}

export const SUPERGRAPH_CONFIG = 'supergraph.yaml';

/** Parses a `supergraph.yaml`. `text` lets callers parse one read from a git ref. */
export function parseSupergraphConfig(root: string, path = SUPERGRAPH_CONFIG, text?: string): SupergraphConfig {
  const raw = parseYaml(text ?? readFileSync(join(root, path), 'utf8')) as RoverConfig | null;
  const entries = Object.entries(raw?.subgraphs ?? {});
  if (entries.length === 0) throw new Error(`${path}: lists no subgraphs`);
  const base = dirname(resolve(root, path));
  return {
    path,
    federationVersion: raw?.federation_version,
    subgraphs: entries.map(([name, entry]) => {
      if (!entry?.routing_url) throw new Error(`${path}: subgraphs.${name}.routing_url is missing`);
      if (!entry.schema?.file)
        throw new Error(`${path}: subgraphs.${name}.schema.file is missing (only file schemas are supported)`);
      const file = relative(resolve(root), resolve(base, entry.schema.file)).split(/[\\/]/).join(posix.sep);
      return { name, routingUrl: entry.routing_url, file };
    }),
  };
}
