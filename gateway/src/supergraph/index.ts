export {
  CompositionError,
  composeFromConfig,
  readSupergraphSdl,
  supergraphFromSdl,
  type SubgraphEndpoint,
  type Supergraph,
} from './compose.ts';
export { readSupergraphConfig, type SubgraphSource, type SupergraphConfigFile } from './config-file.ts';
export { supergraphEnv, type SupergraphSourceConfig } from './config.ts';
export { joinGraphs, type JoinGraph } from './join-graphs.ts';
export { AUTHENTICATED_SPEC, enforcedHere, REQUIRES_SCOPES_SPEC } from './security-features.ts';
export { openSupergraph, type ReloadOutcome, type SupergraphReloadHooks, type SupergraphSource } from './source.ts';
