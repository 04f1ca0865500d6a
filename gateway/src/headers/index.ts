import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.ts';
import { readHeaderRules } from './config.ts';

export { headersEnv } from './config.ts';

/**
 * Headers between apps, the gateway and the subgraphs (headers.yaml):
 *
 * - request headers the rules name go to the subgraphs they name (e.g. the
 *   caller's `accept-language` to products and notifications, which read it
 *   as `context.locale`). They are not covered by the subgraph signature,
 *   which binds the caller's identity to the body: they are hints, never
 *   credentials (the rules refuse those), and fetch sharing keys on them so
 *   callers with other values never share an answer;
 * - answer headers the rules name (e.g. `content-language`) come back to the
 *   client from the first subgraph that sets them;
 * - client awareness: Apollo Client's `apollographql-client-name`/`-version`
 *   are read into the context, so logs and metrics say which app is asking.
 */
export interface HeaderRules {
  /** The headers of `incoming` that subgraph `name` receives (lower-case names). */
  forSubgraph(name: string, incoming: { get(name: string): string | undefined | null }): Record<string, string>;
  /** Answer headers that may come back to the client. */
  passedBack: ReadonlySet<string>;
  /** Copies the answer headers subgraphs set (collected in the context) onto the client's response. */
  plugin: ApolloServerPlugin<GatewayContext>;
}

export function loadHeaderRules(path: string, subgraphs: readonly string[]): HeaderRules {
  const file = readHeaderRules(path, subgraphs);
  const bySubgraph = new Map(
    subgraphs.map((name) => [name, [...new Set([...file.request.all, ...(file.request.subgraphs[name] ?? [])])]]),
  );
  const passedBack = new Set(file.response);
  return {
    forSubgraph(name, incoming) {
      const picked: Record<string, string> = {};
      // A subgraph a reloaded supergraph added is not in the file's map: it gets what `request.all` names.
      for (const header of bySubgraph.get(name) ?? file.request.all) {
        const value = incoming.get(header);
        // Bounded: a header is a hint here, never a payload.
        if (value && value.length <= 256) picked[header] = value;
      }
      return picked;
    },
    passedBack,
    plugin: {
      async requestDidStart() {
        return {
          async willSendResponse({ response, contextValue }) {
            for (const [name, value] of contextValue.answerHeaders ?? [])
              if (!response.http.headers.has(name)) response.http.headers.set(name, value);
          },
        };
      },
    },
  };
}

/** The app calling, from Apollo Client's client-awareness headers; values outside a safe shape are ignored. */
export function clientOf(
  headers: Record<string, string | string[] | undefined>,
): { name: string; version?: string } | undefined {
  const name = clean(headers['apollographql-client-name']);
  if (!name) return undefined;
  const version = clean(headers['apollographql-client-version']);
  return version ? { name, version } : { name };
}

const clean = (value: string | string[] | undefined) =>
  typeof value === 'string' && /^[\w.@/+-]{1,64}$/.test(value) ? value : undefined;
