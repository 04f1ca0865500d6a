// The stock peer of `npm run bench`: Apollo Server + Apollo Gateway with their
// defaults, as the Apollo docs show them, on the bench's supergraph file.
// Plain .mjs run by plain `node`: no TypeScript loader or source maps in the
// peer's process (a loader's stack-trace hooks would slow its HTTP client).
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway } from '@apollo/gateway';

const supergraphSdl = readFileSync(process.env.SUPERGRAPH_SDL, 'utf8');
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(process.env.PORT) } });
console.log(`stock Apollo gateway ready at ${url}`);
