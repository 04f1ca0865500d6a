import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { graphqlHttpHandler, refuse, type GraphQLHttpOptions } from '../src/server/http.ts';
import { listen, type Listening } from '../src/server/listen.ts';

/**
 * The HTTP front every service shares (server/http.ts): what a browser or
 * client sees of paths, query strings, body limits and CORS. CORS is opt-in:
 * without allowed origins there is not a single CORS header.
 */
describe('GraphQL over HTTP', () => {
  const servers: Listening[] = [];
  let apollo: ApolloServer<BaseContext>;

  const serve = async (options: Partial<GraphQLHttpOptions<BaseContext>> = {}) => {
    const server = await listen(
      graphqlHttpHandler<BaseContext>(apollo, {
        maxBodyBytes: 2048,
        context: async (req) =>
          req.headers.authorization === 'Bearer bad' ? refuse(401, 'UNAUTHENTICATED', 'bad token') : {},
        ...options,
      }),
      { port: 0, host: '127.0.0.1' },
    );
    servers.push(server);
    return server.url;
  };
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    apollo = new ApolloServer({
      typeDefs: 'type Query { hello(name: String): String }',
      resolvers: { Query: { hello: (_: unknown, a: { name?: string }) => `hello ${a.name ?? 'you'}` } },
    });
    await apollo.start();
  });
  after(async () => {
    for (const server of servers) await server.close();
    await apollo.stop();
  });

  it('answers POST and GET (query string included), and 404 on other paths', async () => {
    const url = await serve();
    assert.deepEqual(await (await post(url, { query: '{ hello }' })).json(), { data: { hello: 'hello you' } });
    const get = await fetch(
      `${url}?query=${encodeURIComponent('query($n: String) { hello(name: $n) }')}&variables=${encodeURIComponent('{"n":"ann"}')}`,
      {
        headers: { 'apollo-require-preflight': 'true' },
      },
    );
    assert.deepEqual(await get.json(), { data: { hello: 'hello ann' } });
    const missing = await post(new URL('/graphq?x=1', url).toString(), { query: '{ hello }' });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      errors: [{ message: 'No route for /graphq', extensions: { code: 'NOT_FOUND' } }],
    });
  });

  it('keeps the refusals: 413 over the body limit, 400 on bad JSON, the context refusal, CSRF prevention', async () => {
    const refusals: string[] = [];
    const url = await serve({ onRefusal: (status, code) => refusals.push(`${status} ${code}`) });
    const big = await post(url, { query: `{ hello(name: "${'x'.repeat(4096)}") }` });
    assert.equal(big.status, 413);
    assert.equal(
      ((await big.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      'PAYLOAD_TOO_LARGE',
    );
    const badJson = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":',
    });
    assert.equal(badJson.status, 400);
    assert.equal((await post(url, { query: '{ hello }' }, { authorization: 'Bearer bad' })).status, 401);
    // A simple GET without a preflight-forcing header could be a cross-site request: Apollo's CSRF prevention refuses it.
    assert.equal((await fetch(`${url}?query=${encodeURIComponent('{ hello }')}`)).status, 400);
    assert.deepEqual(refusals, ['413 PAYLOAD_TOO_LARGE', '400 BAD_REQUEST', '401 UNAUTHENTICATED']);
  });

  it('sends no CORS headers and answers no preflight when no origin is allowed', async () => {
    const url = await serve();
    const res = await post(url, { query: '{ hello }' }, { origin: 'https://shop.example' });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('vary'), null);
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    assert.notEqual(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });

  it('allows the configured origins, and only them', async () => {
    const url = await serve({ corsOrigins: ['https://shop.example'] });
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization.*content-type/);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);

    const allowed = await post(url, { query: '{ hello }' }, { origin: 'https://shop.example' });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.equal(allowed.headers.get('vary'), 'Origin');
    assert.deepEqual(await allowed.json(), { data: { hello: 'hello you' } });

    const other = await fetch(url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('access-control-allow-methods'), null);
    const otherPost = await post(url, { query: '{ hello }' }, { origin: 'https://evil.example' });
    assert.equal(otherPost.headers.get('access-control-allow-origin'), null);
  });

  it('allows any origin with *', async () => {
    const url = await serve({ corsOrigins: ['*'] });
    const res = await post(url, { query: '{ hello }' }, { origin: 'https://anywhere.example' });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});
