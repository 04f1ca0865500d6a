import { createReadStream, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { env } from '@storefront/platform/config';
import { ensureGraphiQLBundle, type GraphiQLBundle } from './graphiql-bundle.ts';

/**
 * GraphiQL for developers, served by the gateway itself from a bundle built
 * at install time (graphiql-bundle.ts): `GET /graphql` from a browser
 * (`Accept: text/html`) gets the page, `GET /` redirects there, the page's
 * files come from `/graphiql/`. On by default outside production; in
 * production only with GRAPHIQL=true (the schema explorer then still needs
 * INTROSPECTION=true).
 */
export const graphiqlEnv = {
  GRAPHIQL: env
    .optionalBool()
    .describe(
      'Serve GraphiQL to browsers at GET /graphql. Unset: on, except in production (its schema explorer also needs INTROSPECTION).',
    ),
};

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

const ASSETS = '/graphiql/';
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/** What the page is told (read by gateway/graphiql/app.ts). */
export interface GraphiQLPageConfig {
  endpoint: string;
  introspection: boolean;
  tabs: { query: string; variables?: string }[];
  workers: { editor: string; json: string; graphql: string };
}

export async function graphiqlRoute(options: {
  path: string;
  introspection: boolean;
  /** Development: `GET /` redirects to GraphiQL and the log-in example uses the seeded demo customer. */
  development: boolean;
  log?: (message: string) => void;
}): Promise<Route> {
  const bundle = await ensureGraphiQLBundle(options.log);
  const page = renderPage(bundle, {
    endpoint: options.path,
    introspection: options.introspection,
    tabs: defaultTabs(options.development),
    workers: {
      editor: ASSETS + bundle.workers.editor,
      json: ASSETS + bundle.workers.json,
      graphql: ASSETS + bundle.workers.graphql,
    },
  });
  // The bundle's files, read once: no path from a URL ever reaches the file system.
  const files = new Set(readdirSync(bundle.dir));

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0]!;
    if (pathname === options.path) {
      // Apollo Server's own rule for its landing page: a browser navigating here asks for HTML.
      if (!(req.headers.accept ?? '').includes('text/html')) return false;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        // Everything from here: the bundle's files, this endpoint, its WebSocket. Monaco needs inline styles.
        'content-security-policy':
          "default-src 'self'; connect-src 'self' ws: wss:; worker-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : page);
      return true;
    }
    if (pathname === '/' && options.development) {
      res.writeHead(302, { location: options.path, 'content-length': '0' });
      res.end();
      return true;
    }
    if (pathname.startsWith(ASSETS)) {
      const name = pathname.slice(ASSETS.length);
      if (!files.has(name)) return false;
      const file = join(bundle.dir, name);
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        return false;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
        'content-length': String(size),
        // Names carry a hash of their content.
        'cache-control': 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
      return true;
    }
    return false;
  };
}

function defaultTabs(development: boolean): GraphiQLPageConfig['tabs'] {
  const [email, password] = development
    ? ['customer@storefront.local', 'customer-password-1']
    : ['you@example.com', 'your-password'];
  return [
    {
      query: `# Welcome to the storefront supergraph.
#
# 1. Run "LogIn" (the ▶ button asks which operation), copy the accessToken,
#    and paste it into the Headers tab below:
#      { "Authorization": "Bearer <accessToken>" }
# 2. Every operation of every tab then runs as that user, subscriptions too.

mutation LogIn {
  logIn(email: "${email}", password: "${password}") {
    accessToken
    user { id name role }
  }
}

query Catalog {
  products(first: 5) {
    edges { node { id name price { amount currency } inStock } }
  }
}

query MyOrders {
  me { name orders(first: 5) { edges { node { id status total { amount currency } } } } }
}
`,
    },
    {
      query: `# Live order updates over the gateway's WebSocket: place an order, then
# put its id in the variables below and run this (log in first).
subscription Track($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, after: $after) {
    id status version total { amount currency }
  }
}
`,
      variables: '{ "id": "" }',
    },
  ];
}

function renderPage(bundle: GraphiQLBundle, config: GraphiQLPageConfig): string {
  // JSON inside <script>: `<` escaped so no text of it can close the element.
  const json = JSON.stringify(config).replaceAll('<', '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · storefront</title>
<link rel="stylesheet" href="${ASSETS}${bundle.stylesheet}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
<script id="graphiql-config" type="application/json">${json}</script>
<script type="module" src="${ASSETS}${bundle.script}"></script>
</head>
<body><div id="graphiql"></div></body>
</html>
`;
}
