import { resolve } from 'node:path';
import { composeFromConfig, readSupergraphSdl, type Supergraph } from './compose.ts';

export {
  CompositionError,
  composeFromConfig,
  readSupergraphSdl,
  type SubgraphEndpoint,
  type Supergraph,
} from './compose.ts';
export { readSupergraphConfig, type SubgraphSource, type SupergraphConfigFile } from './config-file.ts';
export { joinGraphs, type JoinGraph } from './join-graphs.ts';

/** The supergraph the gateway serves: SUPERGRAPH_SDL when set, else SUPERGRAPH_CONFIG composed at start. */
export function loadSupergraph(config: {
  SUPERGRAPH_SDL?: string | undefined;
  SUPERGRAPH_CONFIG: string;
  subgraphUrls: Record<string, string>;
}): Supergraph {
  return config.SUPERGRAPH_SDL
    ? readSupergraphSdl(resolve(config.SUPERGRAPH_SDL), config.subgraphUrls)
    : composeFromConfig(resolve(config.SUPERGRAPH_CONFIG), config.subgraphUrls);
}
