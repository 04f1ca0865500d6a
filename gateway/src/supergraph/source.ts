import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Supergraph as FederationSupergraph } from '@apollo/federation-internals';
import { ConfigError } from '@storefront/platform/config';
import type { Logger } from '@storefront/platform/logger';
import { fetchDocument, watchFile, watchUrl, type Watcher } from '../reload/index.ts';
import { composeFromConfig, supergraphFromSdl, type Supergraph } from './compose.ts';
import { enforcedHere } from './security-features.ts';
import type { SupergraphSourceConfig } from './config.ts';

/**
 * The supergraph the gateway serves, and its hot reload.
 *
 * At start it is composed from SUPERGRAPH_CONFIG, or read from SUPERGRAPH_SDL
 * (a file) or SUPERGRAPH_URL. A file or URL is then polled; each new text is
 * checked before anything uses it — it must parse, build as a supergraph
 * with Apollo's own validation (the subgraphs it records must be valid and
 * compose), name a routing URL for every subgraph, and pass `prepare` (the
 * gateway's other users of the schema, e.g. the subscription planner) — and
 * only then handed to ApolloGateway through the `update` callback of its
 * `supergraphSdl` function. ApolloGateway swaps its schema, query planner
 * and plan cache in one synchronous step and Apollo Server its schema with
 * them, so an operation is validated, planned and executed against one
 * supergraph: a request already executing finishes on the old one.
 *
 * A supergraph that fails any check is refused: the old one keeps serving,
 * the refusal is logged with the reason and counted, and readiness does not
 * change (the gateway still serves what it served). The same text is not
 * tried again until it changes.
 */
export type ReloadOutcome = 'applied' | 'refused' | 'unreachable';

export interface SupergraphReloadHooks {
  /**
   * Prepares what depends on the supergraph for `next` (throws to refuse it) and returns what
   * switches those to it, called once ApolloGateway serves `next`.
   */
  prepare(next: Supergraph): () => void;
  /** Each reload attempt's outcome, for metrics. */
  onOutcome(outcome: ReloadOutcome): void;
}

export interface SupergraphSource {
  /** The supergraph served now. */
  readonly current: () => Supergraph;
  /** ApolloGateway's `supergraphSdl`: the current supergraph, then every valid new one. */
  hook(hooks: SupergraphReloadHooks): SupergraphSdlHook;
}

export async function openSupergraph(config: SupergraphSourceConfig, logger: Logger): Promise<SupergraphSource> {
  const log = logger.child({ component: 'supergraph' });
  const overrides = config.subgraphUrls;
  if (config.SUPERGRAPH_SDL && config.SUPERGRAPH_URL)
    throw new ConfigError(['SUPERGRAPH_URL: set either SUPERGRAPH_SDL (a file) or SUPERGRAPH_URL, not both']);

  let current: Supergraph;
  /** The text `current` was read from (its `sdl` is that text as served: see `checked`). */
  let currentText: string | undefined;
  let watch: ((onChange: (text: string) => void, onError: (error: Error) => void) => Watcher) | undefined;
  const intervalMs = config.SUPERGRAPH_POLL_INTERVAL_MS;
  if (config.SUPERGRAPH_URL) {
    const url = config.SUPERGRAPH_URL;
    let document;
    try {
      document = (await fetchDocument(url))!;
      current = checked(document.text, overrides);
      currentText = document.text;
    } catch (error) {
      throw new Error(`SUPERGRAPH_URL: ${url}: ${(error as Error).message}`);
    }
    const { text: initial, etag } = document;
    watch = (onChange, onError) => watchUrl(url, { intervalMs, initial, etag, onChange, onError });
  } else if (config.SUPERGRAPH_SDL) {
    const path = resolve(config.SUPERGRAPH_SDL);
    let initial: string;
    try {
      initial = await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`SUPERGRAPH_SDL: cannot read ${path}: ${(error as Error).message}`);
    }
    try {
      current = checked(initial, overrides);
      currentText = initial;
    } catch (error) {
      throw new Error(`SUPERGRAPH_SDL: ${path}: ${(error as Error).message}`);
    }
    watch = (onChange, onError) => watchFile(path, { intervalMs, initial, onChange, onError });
  } else {
    const composed = composeFromConfig(resolve(config.SUPERGRAPH_CONFIG), overrides);
    current = { ...composed, sdl: enforcedHere(composed.sdl) };
  }
  if (intervalMs === 0) watch = undefined;

  return {
    current: () => current,
    hook:
      (hooks) =>
      async ({ update }) => {
        const watcher = watch?.(
          (text) => {
            // Back to the text being served (after a refused version): nothing to swap.
            if (text === currentText) return;
            let next: Supergraph;
            let switchOver: () => void;
            try {
              next = checked(text, overrides);
              switchOver = hooks.prepare(next);
              // Synchronous: ApolloGateway, Apollo Server and `switchOver` change together, between two requests' steps.
              update(next.sdl);
            } catch (error) {
              hooks.onOutcome('refused');
              log.error(
                { reason: (error as Error).message },
                'new supergraph refused: it does not parse or compose; the one being served stays',
              );
              return;
            }
            current = next;
            currentText = text;
            switchOver();
            hooks.onOutcome('applied');
            log.info({ subgraphs: next.subgraphs }, 'new supergraph served');
          },
          (error) => {
            hooks.onOutcome('unreachable');
            log.warn({ reason: error.message }, 'cannot read the supergraph; the one being served stays until it can');
          },
        );
        if (watcher)
          log.info({ intervalMs, source: config.SUPERGRAPH_URL ?? config.SUPERGRAPH_SDL }, 'watching the supergraph');
        return { supergraphSdl: current.sdl, cleanup: async () => watcher?.stop() };
      },
  };
}

/**
 * The supergraph in `sdl` as served, or a throw saying why it cannot be served. As served:
 * `@authenticated` and `@requiresScopes` are enforced by this gateway (authorization/), so
 * their links lose the SECURITY purpose Apollo's planner would refuse (`enforcedHere`).
 */
function checked(sdl: string, overrides: Record<string, string>): Supergraph {
  const supergraph = supergraphFromSdl(enforcedHere(sdl), overrides);
  // Apollo's own check (what ApolloGateway runs outside production): every subgraph extracted and valid.
  FederationSupergraph.build(supergraph.sdl, { validateSupergraph: true });
  if (supergraph.subgraphs.length === 0) throw new Error('the supergraph names no subgraphs');
  return supergraph;
}
