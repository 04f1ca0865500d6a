/**
 * The GraphiQL page the gateway serves (gateway/src/http/graphiql.ts), bundled
 * with esbuild into static files (gateway/src/http/graphiql-bundle.ts): no
 * CDN, nothing fetched from anywhere but the gateway itself.
 *
 * Queries and mutations go over HTTP, subscriptions over the gateway's own
 * graphql-ws endpoint. The Headers editor's `Authorization` is sent with
 * every HTTP request and, for subscriptions, as `connectionParams` (that is
 * how @graphiql/toolkit opens a socket: the headers become the params).
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/style.css';

/** Written by the gateway into the page, as JSON (see GraphiQLPageConfig in gateway/src/http/graphiql.ts). */
interface PageConfig {
  endpoint: string;
  introspection: boolean;
  tabs: { query: string; variables?: string; headers?: string }[];
  workers: { editor: string; json: string; graphql: string };
}

const config = JSON.parse(document.getElementById('graphiql-config')!.textContent) as PageConfig;

// Monaco runs its language services in workers; ours are files of the same bundle.
(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker: (_id: string, label: string) =>
    new Worker(
      label === 'json' ? config.workers.json : label === 'graphql' ? config.workers.graphql : config.workers.editor,
    ),
};

const endpoint = new URL(config.endpoint, location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

createRoot(document.getElementById('graphiql')!).render(
  createElement(GraphiQL, {
    fetcher: createGraphiQLFetcher({ url: endpoint.href, subscriptionUrl: socket.href }),
    defaultTabs: config.tabs,
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    // Tokens stay in this tab's memory, not in localStorage.
    shouldPersistHeaders: false,
    // Without introspection there is no schema to fetch: no explorer, and no error about it.
    ...(config.introspection ? {} : { schema: null }),
  }),
);
