import { posix, relative, resolve } from 'node:path';
import { readSupergraphConfig } from '@storefront/gateway/supergraph';

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

export const SUPERGRAPH_CONFIG = 'supergraph.yaml';

/** Reads a `supergraph.yaml` with the gateway's reader. `text` lets callers parse one read from a git ref. */
export function parseSupergraphConfig(root: string, path = SUPERGRAPH_CONFIG, text?: string): SupergraphConfig {
  const { federationVersion, subgraphs } = readSupergraphConfig(resolve(root, path), text);
  return {
    path,
    federationVersion,
    subgraphs: subgraphs.map(({ name, url, typeDefsPath }) => ({
      name,
      routingUrl: url,
      file: relative(resolve(root), typeDefsPath).split(/[\\/]/).join(posix.sep),
    })),
  };
}
