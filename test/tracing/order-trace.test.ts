import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { captureLogs, eventually } from '@storefront/platform/testing';
import { connectGateway, type GatewaySocket } from '../support/gateway-socket.ts';
import { prepareOrderJourney, type OrderJourney } from '../support/order-journey.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * One trace from the app's tap to the customer's phone, read back from a
 * real Jaeger (started by scripts/services/services.sh): an order placed
 * through the gateway with the app's own `traceparent` yields spans of the
 * gateway and the users, orders and products services, the order's INSERT,
 * the Kafka publish from the outbox, the products service's stock
 * reservation, and the subscription push, all under the app's trace id.
 * Over that whole flow (sign-up, sign-in, an order with a shipping address,
 * its saga, its email, the push), no span and no log line of any service
 * holds the customer's password, token, email or address.
 */
const OTLP_URL = process.env.JAEGER_OTLP_URL;
const QUERY_URL = process.env.JAEGER_QUERY_URL;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

const ADDRESS = { line1: '17 Lantern Quay', city: 'Rotterdam', postalCode: '3011 AB', country: 'NL' };
const MY_ORDERS = `subscription { myOrderUpdates { id status } }`;
const PLACE = `mutation Checkout($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) { id user { name } items { product { name } } }
}`;

describe('an order is one trace, from the app through Kafka to the subscription push (Jaeger)', () => {
  let stack: Stack;
  let journey: OrderJourney;
  let socket: GatewaySocket | undefined;
  // Every service's log lines, down to debug.
  const logs = captureLogs('debug');

  before(async () => {
    assert.ok(OTLP_URL && QUERY_URL, 'JAEGER_OTLP_URL and JAEGER_QUERY_URL come from `npm run services start`');
    stack = await startStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_URL, OTEL_BSP_SCHEDULE_DELAY: '100', LOG_LEVEL: 'debug' },
      logger: logs.logger,
    });
    journey = await prepareOrderJourney(stack);
  });
  after(async () => {
    await socket?.close();
    await stack?.stop();
  });

  it('holds the spans of every hop under the trace id the app sent', async () => {
    const customer = await stack.signUp('Trace Customer');
    socket = connectGateway(stack.gateway, { token: customer.token });
    await socket.acknowledged;
    const updates = socket.subscribe<{ myOrderUpdates: { id: string; status: string } }>(MY_ORDERS);
    // The subscription is open upstream before the order exists.
    await eventually(() => stack.services.orders.activeSubscriptions() > 0, 15_000, 'the upstream subscription');

    const traceId = randomBytes(16).toString('hex');
    const appSpanId = randomBytes(8).toString('hex');
    const orderId = await eventually(
      async () => {
        const res = await fetch(stack.gateway.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${customer.token}`,
            traceparent: `00-${traceId}-${appSpanId}-01`,
            'apollographql-client-name': 'storefront-ios',
            'apollographql-client-version': '7.1.0',
          },
          body: JSON.stringify({
            query: PLACE,
            variables: {
              input: { items: [{ productId: journey.productId, quantity: 1 }], shippingAddress: ADDRESS },
              key: randomUUID(),
            },
          }),
        });
        const body = (await res.json()) as { data?: { placeOrder?: { id: string } } };
        return body.data?.placeOrder?.id;
      },
      30_000,
      'placeOrder to accept the product',
    );
    await eventually(
      () =>
        updates.results.some(
          (r) => r.data?.myOrderUpdates.id === orderId && r.data.myOrderUpdates.status === 'CONFIRMED',
        ),
      60_000,
      'the CONFIRMED push',
    );

    const expected: Record<string, (span: JaegerSpan, service: string) => boolean> = {
      'gateway request continuing the app span': (s, service) =>
        service === 'gateway' && tag(s, 'span.kind') === 'server' && s.references.some((r) => r.spanID === appSpanId),
      'gateway subgraph fetch to orders': (s, service) => service === 'gateway' && s.operationName === 'fetch orders',
      'users resolving the customer': (s, service) => service === 'users' && tag(s, 'span.kind') === 'server',
      'products resolving the product': (s, service) => service === 'products' && tag(s, 'span.kind') === 'server',
      'orders running placeOrder': (s, service) => service === 'orders' && s.operationName === 'Mutation.placeOrder',
      'the INSERT of the order': (s, service) =>
        service === 'orders' && tag(s, 'db.operation.name') === 'INSERT' && tag(s, 'db.collection.name') === 'orders',
      'the Kafka publish of order-events': (s, service) =>
        service === 'orders' &&
        s.operationName === 'publish order-events' &&
        tag(s, 'messaging.system') === 'kafka' &&
        tag(s, 'storefront.event.type') === 'OrderPlaced',
      'the stock reservation in products': (s, service) =>
        service === 'products' &&
        s.operationName === 'process order-events' &&
        tag(s, 'messaging.consumer.group.name') === 'products',
      'the subscription push to the app': (s, service) => service === 'gateway' && s.operationName.startsWith('push '),
    };

    const found = await eventually(
      async () => {
        const res = await fetch(`${QUERY_URL}/api/traces/${traceId}`);
        if (!res.ok) return undefined;
        const trace = ((await res.json()) as { data: JaegerTrace[] }).data[0];
        if (!trace) return undefined;
        const serviceOf = (span: JaegerSpan) => trace.processes[span.processID]?.serviceName ?? '?';
        const missing = Object.entries(expected)
          .filter(([, match]) => !trace.spans.some((span) => match(span, serviceOf(span))))
          .map(([what]) => what);
        return missing.length === 0 ? trace : ((lastMissing = missing), undefined);
      },
      60_000,
      'the trace in Jaeger',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; still missing: ${lastMissing.join(', ')}`);
    });

    assert.ok(
      found.spans.every((span) => span.traceID === traceId),
      'one trace id',
    );
    const gateway = found.spans.find((s) => expected['gateway request continuing the app span']!(s, 'gateway'))!;
    assert.equal(tag(gateway, 'graphql.operation.name'), 'Checkout');
    assert.equal(tag(gateway, 'graphql.operation.type'), 'mutation');
    assert.equal(tag(gateway, 'graphql.client.name'), 'storefront-ios');
    assert.equal(tag(gateway, 'graphql.client.version'), '7.1.0');
    assert.match(String(tag(gateway, 'graphql.document.hash')), /^[0-9a-f]{64}$/);
    // No span and no log line carries the customer's email, password, token or address.
    const spans = JSON.stringify(found);
    assert.ok(logs.records.length > 50, `the services logged the flow (${logs.records.length} lines)`);
    for (const secret of [customer.email, 'a-good-password-1', customer.token, ADDRESS.line1, ADDRESS.postalCode]) {
      assert.ok(!spans.includes(secret), `no span holds "${secret.slice(0, 16)}…"`);
      const leaks = logs.records.filter((r) => JSON.stringify(r).includes(secret));
      assert.deepEqual(leaks, [], `no log line holds "${secret.slice(0, 16)}…"`);
    }
  });
});

let lastMissing: string[] = [];
const tag = (span: JaegerSpan, key: string): unknown => span.tags.find((t) => t.key === key)?.value;
