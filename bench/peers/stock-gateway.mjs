// The stock peer of `npm run bench`: Apollo Server + Apollo Gateway with their
// defaults, as the Apollo docs show them, on the bench's supergraph file.
// Plain .mjs run by plain `node`: no TypeScript loader or source maps in the
// peer's process (a loader's stack-trace hooks would slow its HTTP client).
//
// FORWARD_HEADERS (the mix: many customers): these client headers are passed
// on to every subgraph call, the way Apollo's docs forward a caller's
// credentials (`buildService` + `willSendRequest`); the default data source
// and HTTP client are kept.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

const supergraphSdl = readFileSync(process.env.SUPERGRAPH_SDL, 'utf8');
const forward = (process.env.FORWARD_HEADERS ?? '').split(',').filter(Boolean);
const gateway = forward.length
  ? new ApolloGateway({
      supergraphSdl,
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource({
          url,
          willSendRequest({ request, context }) {
            for (const name of forward)
              if (context.headers?.[name]) request.http.headers.set(name, context.headers[name]);
          },
        }),
    })
  : new ApolloGateway({ supergraphSdl });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT) },
  ...(forward.length
    ? {
        context: async ({ req }) => ({ headers: Object.fromEntries(forward.map((name) => [name, req.headers[name]])) }),
      }
    : {}),
});
console.log(`stock Apollo gateway ready at ${url}`);
