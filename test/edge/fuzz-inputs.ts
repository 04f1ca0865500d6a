import fc from 'fast-check';

/**
 * What a hostile or broken client can send, as fast-check arbitraries: HTTP
 * request lines, targets, headers and bodies; GraphQL documents and
 * variables; WebSocket upgrades and graphql-ws messages. Each mixes the
 * shapes a real client sends with the edge cases that broke servers before
 * (invalid Unicode, NUL, huge numbers, deep JSON, malformed URLs).
 */

/** Strings with the characters that break parsers and databases. */
const nasty = fc.constantFrom(
  '\u0000',
  '\ud800',
  '\udc00',
  '\ud83d\ude00',
  '\uffff',
  '\r\n',
  '"',
  '\\',
  '%',
  '%zz',
  '${',
  "'; drop table",
  '\u202e',
  'A'.repeat(10_000),
);
export const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  nasty,
  fc.tuple(fc.string({ maxLength: 8 }), nasty, fc.string({ maxLength: 8 })).map((parts) => parts.join('')),
);

const hugeNumber = fc.constantFrom(
  1e308,
  -1e308,
  2 ** 53 + 1,
  2 ** 31,
  -(2 ** 31) - 1,
  Number.MAX_SAFE_INTEGER,
  0.5,
  -0,
  -1,
);

/** A JSON value nested `depth` deep (arrays or objects), for parsers and coercion (deeper ones are in corpus.json: fast-check's own reporting recurses). */
const deepJson = fc
  .tuple(fc.integer({ min: 50, max: 400 }), fc.boolean())
  .map(
    ([depth, arrays]) =>
      JSON.parse(
        arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
      ) as unknown,
  );

export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 4 }),
  hostileString,
  hugeNumber,
  deepJson,
  fc.dictionary(hostileString, fc.oneof(hostileString, hugeNumber, fc.constant(null)), { maxKeys: 4 }),
  fc.array(fc.oneof(hostileString, hugeNumber), { maxLength: 5 }),
);

/** Pieces of the supergraph's schema and GraphQL syntax, so many documents parse and some validate. */
const TOKENS = [
  '{',
  '}',
  '(',
  ')',
  ':',
  '$v',
  '...',
  'on',
  'query',
  'mutation',
  'subscription',
  'fragment F on Query',
  'products',
  'categories',
  'product(id: $v)',
  'searchProducts(query: $v)',
  'first: 1',
  'first: 99999999999999999999',
  'first: -1',
  'after: "\\u0000"',
  'edges',
  'node',
  'id',
  'name',
  'price',
  'inventory',
  'me',
  'email',
  'orders',
  'items',
  'placeOrder(input: $v, idempotencyKey: "k")',
  'logIn(email: $v, password: $v)',
  'orderStatusChanged(orderId: $v)',
  '__typename',
  '__schema { types { name } }',
  '@include(if: $v)',
  '@skip(if: true)',
  '@defer',
  '"\\ud800"',
  '"""block"""',
  '#comment\n',
];

const templates = [
  (arg: string) => `query($v: String) { searchProducts(query: ${arg}) { edges { node { id name } } } }`,
  (arg: string) => `query($v: ID!) { product(id: ${arg}) { id name price } }`,
  (arg: string) => `query($v: Int) { products(first: ${arg}) { edges { node { id } } } }`,
  (arg: string) => `mutation($v: String!) { logIn(email: ${arg}, password: ${arg}) { accessToken } }`,
  (arg: string) => `mutation($v: PlaceOrderInput!) { placeOrder(input: ${arg}, idempotencyKey: "fuzz") { id } }`,
  (arg: string) => `query($v: Boolean!) { categories @include(if: ${arg}) { id name } }`,
  (arg: string) => `subscription($v: ID!) { orderStatusChanged(orderId: ${arg}) { id status } }`,
];

/** GraphQL documents: schema-shaped templates, token soup, and random text. */
export const graphqlDocument = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...templates),
      fc.oneof(
        fc.constant('$v'),
        hostileString.map((s) => JSON.stringify(s)),
      ),
    )
    .map(([template, arg]) => template(arg)),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((tokens) => tokens.join(' ')),
  fc.constantFrom('{', '{'.repeat(5_000), `{ ${'a: __typename '.repeat(2_000)}}`, 'query A { x } query A { x }'),
  hostileString,
);

/** The JSON body of a GraphQL POST: sometimes well-formed, sometimes not. */
export const graphqlBody = fc.record(
  {
    query: fc.oneof(graphqlDocument, hostileJson),
    variables: fc.oneof(fc.record({ v: hostileJson }), hostileJson),
    operationName: fc.oneof(fc.constant(undefined), fc.constant(null), hostileString, hostileJson),
    extensions: hostileJson,
  },
  { requiredKeys: [] },
);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const methods = fc.oneof(
  fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS', 'HEAD', 'DELETE', 'PATCH', 'CONNECT', 'TRACE'),
  fc.stringMatching(/^[A-Za-z]{1,12}$/),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }),
);

const targets = fc.oneof(
  fc.constantFrom(
    '/graphql',
    '/',
    '*',
    '//[',
    '/graphql/%zz',
    'http://[::1/graphql',
    'http://x/graphql',
    '/graphql?query=%7B__typename%7D',
    '/graphql?query=%zz',
    '/graphql?extensions=%7B%22persistedQuery%22%3A1%7D',
    '/graphql?documentId=x',
    '/healthz',
    '/readyz',
    '/metrics',
    '/%00',
    `/${'a'.repeat(20_000)}`,
  ),
  fc.webPath(),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => `/graphql?${s}`),
  // encodeURIComponent throws on a lone surrogate; a URL cannot carry one anyway (the target itself may be raw bytes).
  graphqlDocument.map((q) => `/graphql?query=${encodeURIComponent(q.replace(LONE_SURROGATE, '\ufffd'))}`),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Header names a GraphQL server reads, and random ones. Framing headers are chosen by the request builder. */
const headerName = fc.oneof(
  fc.constantFrom(
    'content-type',
    'accept',
    'content-encoding',
    'authorization',
    'origin',
    'upgrade',
    'connection',
    'apollo-require-preflight',
    'x-apollo-operation-name',
    'apollographql-client-name',
    'accept-language',
    'x-request-id',
    'if-none-match',
    'traceparent',
    'x-forwarded-for',
    'sec-websocket-key',
    'sec-websocket-version',
    'sec-websocket-protocol',
  ),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/graphql-response+json',
    'multipart/mixed;subscriptionSpec=1.0',
    'text/event-stream',
    'text/plain',
    'gzip',
    'br',
    'Bearer x.y.z',
    'Bearer eyJhbGciOiJub25lIn0.e30.',
    'websocket',
    'Upgrade',
    '13',
    'graphql-transport-ws',
    'null',
    'A'.repeat(4_000),
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const bodies = fc.oneof(
  graphqlBody.map((body) => Buffer.from(JSON.stringify(body) ?? 'null')),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  hostileString.map((s) => Buffer.from(s)),
  fc.constant(Buffer.alloc(0)),
);

/**
 * One raw HTTP/1.1 request. Content-Length always matches the body (a short
 * body would only make the server wait for the rest, which proves nothing);
 * everything else may be wrong.
 */
export const rawHttpRequest = fc
  .record({
    method: methods,
    target: targets,
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/x'),
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
    body: bodies,
  })
  .map(({ method, target, version, headers, body }) => {
    const lines = [
      `${method} ${target} ${version}`,
      'Host: fuzz',
      ...headers.map(([name, value]) => `${name}: ${value}`),
      `Content-Length: ${body.length}`,
      'Connection: close',
    ];
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  });

/** A WebSocket upgrade request with random handshake headers. */
export const rawUpgradeRequest = fc
  .record({
    target: fc.oneof(fc.constant('/graphql'), targets),
    key: fc.oneof(fc.constant('dGhlIHNhbXBsZSBub25jZQ=='), fc.string({ unit: 'binary-ascii', maxLength: 30 })),
    version: fc.oneof(fc.constant('13'), fc.string({ unit: 'binary-ascii', maxLength: 4 })),
    protocol: fc.oneof(fc.constant('graphql-transport-ws'), fc.constant(undefined), headerValue),
    method: fc.constantFrom('GET', 'GET', 'POST', 'PUT'),
  })
  .map(
    ({ target, key, version, protocol, method }) =>
      `${method} ${target} HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n` +
      (protocol === undefined ? '' : `Sec-WebSocket-Protocol: ${protocol}\r\n`) +
      '\r\n',
  );

/** A graphql-ws message: valid ones in the wrong order, wrong shapes, not JSON at all. */
export const graphqlWsMessage: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constant(JSON.stringify({ type: 'connection_init' })),
  fc.constant(JSON.stringify({ type: 'ping' })),
  fc
    .record({
      type: fc.oneof(
        fc.constantFrom('connection_init', 'subscribe', 'complete', 'ping', 'pong', 'next', 'error'),
        hostileString,
      ),
      id: fc.oneof(fc.constantFrom('1', '2'), hostileString, hostileJson),
      payload: fc.oneof(graphqlBody, hostileJson),
    })
    .map((message) => JSON.stringify(message) ?? 'null'),
  graphqlBody.map((payload) => JSON.stringify({ type: 'subscribe', id: '1', payload }) ?? 'null'),
  hostileString,
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);
