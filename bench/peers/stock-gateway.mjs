// The stock peer of `npm run bench`: Apollo Server + Apollo Gateway with their
// defaults, as the Apollo docs show them, on the bench's supergraph file.
// Plain .mjs run by plain `node`: no TypeScript loader or source maps in the
// peer's process (a loader's stack-trace hooks would slow its HTTP client).
//
// Its subgraph calls are signed as our gateway signs them (./sign.mjs), so the
// subgraphs behind it run in production mode: through Apollo's own hooks
// (`buildService` + `willSendRequest` pass the caller's customer header on)
// and the default data source's default HTTP client, wrapped only to add the
// signature headers over the exact body it sends.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { CUSTOMER_HEADER, signerFromEnv } from './sign.mjs';

const supergraphSdl = readFileSync(process.env.SUPERGRAPH_SDL, 'utf8');
const signer = signerFromEnv();

function signedDataSource({ url }) {
  const source = new RemoteGraphQLDataSource({
    url,
    willSendRequest({ request, context }) {
      const customer = context.customer;
      if (customer) request.http.headers.set(CUSTOMER_HEADER, customer);
    },
  });
  const send = source.fetcher;
  source.fetcher = (target, init) =>
    send(target, {
      ...init,
      headers: { ...init.headers, ...signer.headersFor(init.body, init.headers?.[CUSTOMER_HEADER]) },
    });
  return source;
}

const gateway = new ApolloGateway({ supergraphSdl, buildService: signedDataSource });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT) },
  context: async ({ req }) => ({ customer: req.headers[CUSTOMER_HEADER] }),
});
console.log(`stock Apollo gateway ready at ${url}`);
