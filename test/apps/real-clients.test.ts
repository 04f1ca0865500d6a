import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient as createSseClient } from 'graphql-sse';
import { eventually } from '@storefront/platform/testing';
import { connectGateway } from '../support/gateway-socket.ts';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The clients apps are built with, against the gateway: Apollo Client (its
 * HTTP link with automatic persisted queries; subscriptions over Apollo's
 * multipart protocol), the graphql-sse client and the graphql-ws client.
 * Each follows an order from PENDING to DELIVERED live.
 */
const TRACK = `subscription Track($id: ID!, $after: Int) {
  orderStatusChanged(orderId: $id, after: $after) { id status version user { name } items { product { name } } }
}`;
type StatusEvent = { orderStatusChanged: { id: string; status: string; version: number; user: { name: string } } };
const FINAL = ['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED'];

describe('real clients follow an order live', { timeout: 300_000 }, () => {
  let stack: Stack;
  let journey: OrderJourney;
  let customer: { token: string; userId: string };

  before(async () => {
    stack = await startStack();
    journey = await prepareOrderJourney(stack);
    customer = await stack.signUp('Ada Client');
  });
  after(async () => {
    await stack?.stop();
  });

  /** Statuses seen, in order, until DELIVERED (or the deadline). */
  const follow = async (name: string, events: AsyncIterable<StatusEvent>, orderId: string) => {
    const seen: StatusEvent['orderStatusChanged'][] = [];
    const done = (async () => {
      for await (const event of events) {
        seen.push(event.orderStatusChanged);
        if (event.orderStatusChanged.status === 'DELIVERED') return;
      }
    })();
    await journey.deliver(orderId, customer.token);
    await eventually(() => seen.at(-1)?.status === 'DELIVERED', 60_000, `${name} to see DELIVERED`);
    await done;
    assert.deepEqual(
      seen.map((e) => e.status).filter((s) => FINAL.includes(s)),
      FINAL,
      `${name} saw every transition in order`,
    );
    assert.ok(seen.every((e) => e.id === orderId && e.user.name === 'Ada Client'));
    const versions = seen.map((e) => e.version);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
      'versions ascend',
    );
  };

  it('Apollo Client: queries, mutations, persisted queries and a multipart subscription', async () => {
    const requests: { query: boolean; hash: boolean; accept: string }[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, any>) : {};
      requests.push({
        query: typeof body.query === 'string',
        hash: Boolean(body.extensions?.persistedQuery),
        accept: new Headers(init?.headers).get('accept') ?? '',
      });
      return fetch(input, init);
    };
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: ApolloLink.from([
        new PersistedQueryLink({ sha256: (text: string) => createHash('sha256').update(text).digest('hex') }),
        new HttpLink({
          uri: stack.gateway.url,
          fetch: recordingFetch,
          headers: { authorization: `Bearer ${customer.token}` },
        }),
      ]),
    });
    try {
      const CATALOG = gql`
        query Catalog {
          products(first: 3) {
            edges {
              node {
                id
                name
              }
            }
          }
        }
      `;
      const first = await client.query({ query: CATALOG, fetchPolicy: 'network-only' });
      assert.ok((first.data as any).products.edges.length > 0);
      // APQ: the hash alone first, the text once on PERSISTED_QUERY_NOT_FOUND, then the hash alone is enough.
      assert.deepEqual(
        requests.map((r) => r.query),
        [false, true],
      );
      await client.query({ query: CATALOG, fetchPolicy: 'network-only' });
      assert.deepEqual(requests.at(-1), { query: false, hash: true, accept: requests.at(-1)!.accept });

      // Orders learns of the new product from an event: retried until it has.
      const placed = await eventually(
        () =>
          client.mutate({
            mutation: gql`
              mutation Place($input: PlaceOrderInput!, $key: String!) {
                placeOrder(input: $input, idempotencyKey: $key) {
                  id
                  status
                }
              }
            `,
            variables: {
              input: { items: [{ productId: journey.productId, quantity: 1 }] },
              key: `apollo-${Date.now()}`,
            },
          }),
        30_000,
        'Apollo Client to place the order',
      );
      const orderId = (placed.data as any).placeOrder.id as string;
      assert.equal((placed.data as any).placeOrder.status, 'PENDING');

      const events = client.subscribe<StatusEvent>({ query: gql(TRACK), variables: { id: orderId, after: 0 } });
      const iterable: AsyncIterable<StatusEvent> = {
        async *[Symbol.asyncIterator]() {
          const queue: StatusEvent[] = [];
          let wake: (() => void) | undefined;
          let failed: unknown;
          const subscription = events.subscribe({
            next: (result) => {
              if (result.error) failed = result.error;
              else if (result.data) queue.push(result.data);
              wake?.();
            },
            error: (error) => {
              failed = error;
              wake?.();
            },
          });
          try {
            for (;;) {
              if (failed) throw failed as Error;
              const next = queue.shift();
              if (next) yield next;
              else await new Promise<void>((resolve) => (wake = resolve));
            }
          } finally {
            subscription.unsubscribe();
          }
        },
      };
      await follow('Apollo Client (multipart)', iterable, orderId);
      assert.match(requests.at(-1)!.accept, /multipart\/mixed;.*subscriptionSpec/);
    } finally {
      client.stop();
    }
  });

  it('graphql-sse client: distinct connections', async () => {
    const orderId = await journey.place(customer.token);
    const client = createSseClient({
      url: stack.gateway.url,
      headers: { authorization: `Bearer ${customer.token}` },
      retryAttempts: 0,
    });
    try {
      const events = client.iterate<StatusEvent>({ query: TRACK, variables: { id: orderId, after: 0 } });
      await follow(
        'graphql-sse',
        (async function* () {
          for await (const result of events) {
            assert.equal(result.errors, undefined, JSON.stringify(result.errors));
            yield result.data as StatusEvent;
          }
        })(),
        orderId,
      );
    } finally {
      client.dispose();
    }
  });

  it('graphql-ws client', async () => {
    const orderId = await journey.place(customer.token);
    const socket = connectGateway(stack.gateway, { token: customer.token });
    try {
      await socket.acknowledged;
      const events = socket.client.iterate<StatusEvent>({ query: TRACK, variables: { id: orderId, after: 0 } });
      await follow(
        'graphql-ws',
        (async function* () {
          for await (const result of events) yield result.data as StatusEvent;
        })(),
        orderId,
      );
    } finally {
      await socket.close();
    }
  });

  it('leaves nothing open once the clients are gone', async () => {
    await eventually(
      () =>
        stack.gateway.subscriptions.clientSubscriptions() === 0 &&
        Object.keys(stack.gateway.subscriptions.upstreamSubscriptions()).length === 0,
      15_000,
      'every subscription to be released',
    );
  });
});
