import { z } from 'zod';
import { env } from '@storefront/platform/config';

/**
 * Where the supergraph comes from (spread into the gateway's config schema):
 * composed at start from SUPERGRAPH_CONFIG (development), or a prebuilt SDL
 * from a file (SUPERGRAPH_SDL) or a URL (SUPERGRAPH_URL), which the gateway
 * keeps watching and swaps in without a restart (source.ts).
 */
export const supergraphEnv = {
  SUPERGRAPH_CONFIG: z
    .string()
    .default('supergraph.yaml')
    .describe(
      'rover-format file (supergraph.yaml) of the subgraphs composed at start. Ignored when SUPERGRAPH_SDL or SUPERGRAPH_URL is set; not reloaded.',
    ),
  SUPERGRAPH_SDL: z
    .string()
    .optional()
    .describe(
      'A prebuilt supergraph SDL file to serve instead of composing SUPERGRAPH_CONFIG. Read again every SUPERGRAPH_POLL_INTERVAL_MS: a new valid supergraph is served without a restart, an invalid one refused (docs/rollouts.md).',
    ),
  SUPERGRAPH_URL: env
    .url()
    .optional()
    .describe(
      'Where to fetch the supergraph SDL from instead (http or https), polled every SUPERGRAPH_POLL_INTERVAL_MS with If-None-Match (its ETag). The start fails if it cannot be fetched; later failures keep the supergraph being served. Not with SUPERGRAPH_SDL.',
    ),
  SUPERGRAPH_POLL_INTERVAL_MS: env
    .int(5_000)
    .pipe(z.number().max(3_600_000, 'must be at most an hour (3600000)'))
    .describe(
      'How often SUPERGRAPH_SDL is read or SUPERGRAPH_URL asked for a new supergraph, in milliseconds; 0: read once at start.',
    ),
};

export interface SupergraphSourceConfig {
  SUPERGRAPH_CONFIG: string;
  SUPERGRAPH_SDL?: string | undefined;
  SUPERGRAPH_URL?: string | undefined;
  SUPERGRAPH_POLL_INTERVAL_MS: number;
  /** SUBGRAPH_URL_<NAME>, by subgraph: where each subgraph runs, over the supergraph's routing URLs. */
  subgraphUrls: Record<string, string>;
}
