import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { postGraphQL } from './gateways.ts';

/**
 * The bench customer and their order history, made through the real flow
 * (signUp, placeOrder → stock reservation over Kafka → CONFIRMED, payOrder)
 * on our gateway, and waited for until nothing moves any more: the measured
 * queries must read data that no longer changes.
 */
export const BENCH_CUSTOMER = {
  email: 'bench-customer@storefront.local',
  password: 'bench-password-1',
  name: 'Bench Customer',
};
const ORDERS = 10;
const ITEMS_PER_ORDER = 3;

export interface SeededCustomer {
  userId: string;
  orderIds: string[];
}

async function call<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const res = await postGraphQL(url, query, variables, token);
  if (res.status !== 200 || res.json?.errors?.length || !res.json?.data) {
    throw new Error(`seeding: ${query.trim().split('\n')[0]} failed (HTTP ${res.status}): ${res.text.slice(0, 500)}`);
  }
  return res.json.data as T;
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      // Whatever was thrown last, as text: an Error prints its name and message.
      // eslint-disable-next-line @typescript-eslint/no-base-to-string
      throw new Error(`seeding: timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function seedCustomer(gatewayUrl: string): Promise<SeededCustomer> {
  const signUp = await call<{ signUp: { accessToken: string; user: { id: string } } }>(
    gatewayUrl,
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: BENCH_CUSTOMER },
  );
  const token = signUp.signUp.accessToken;
  const products = await call<{ products: { edges: { node: { id: string; inStock: boolean } }[] } }>(
    gatewayUrl,
    `{ products(first: 50) { edges { node { id inStock } } } }`,
  );
  // The demo catalog has sold-out products on purpose; an order of one would be REJECTED.
  const productIds = products.products.edges.filter((e) => e.node.inStock).map((e) => e.node.id);
  if (productIds.length < ITEMS_PER_ORDER)
    throw new Error(`seeding: the catalog has ${productIds.length} products; the seed should have made more`);

  const orderIds: string[] = [];
  for (let i = 0; i < ORDERS; i += 1) {
    const items = Array.from({ length: ITEMS_PER_ORDER }, (_, k) => ({
      productId: productIds[(i * ITEMS_PER_ORDER + k) % productIds.length]!,
      quantity: 1,
    }));
    const input = {
      items,
      shippingAddress: { line1: `${i + 1} Bench Street`, city: 'Berlin', postalCode: '10115', country: 'DE' },
    };
    const key = randomUUID();
    // The orders service learns of the catalog from Kafka; until it has, placeOrder refuses the products.
    const placed = await eventually('placeOrder to accept the seeded catalog', () =>
      call<{ placeOrder: { id: string } }>(
        gatewayUrl,
        `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
        { input, key },
        token,
      ),
    );
    orderIds.push(placed.placeOrder.id);
  }

  const statuses = async () =>
    (
      await call<{ me: { orders: { edges: { node: { id: string; status: string } }[] } } }>(
        gatewayUrl,
        `{ me { orders(first: ${ORDERS}) { edges { node { id status } } } } }`,
        {},
        token,
      )
    ).me.orders.edges.map((e) => e.node);
  let seen = '';
  const allConfirmed = async () => {
    const orders = await statuses();
    seen = orders.map((o) => o.status).join(', ');
    if (orders.some((o) => o.status === 'REJECTED'))
      throw new Error(`seeding: an order was REJECTED (statuses: ${seen})`);
    return orders.every((o) => o.status === 'CONFIRMED') ? true : undefined;
  };
  await eventually('every order to be CONFIRMED', allConfirmed, 120_000).catch((error: Error) => {
    throw new Error(`${error.message} (statuses: ${seen})`);
  });
  // Half of them paid, so the history has more than one status.
  for (const id of orderIds.filter((_, i) => i % 2 === 0)) {
    await call(gatewayUrl, `mutation($id: ID!) { payOrder(id: $id) { id } }`, { id }, token);
  }
  await eventually('the paid orders to be PAID', async () =>
    (await statuses()).filter((o) => o.status === 'PAID').length === Math.ceil(ORDERS / 2) ? true : undefined,
  );

  // Notifications follow each status change asynchronously: wait until their number has stopped changing.
  let previous = -1;
  let stableFor = 0;
  await eventually('the notifications to settle', async () => {
    const { me } = await call<{ me: { notifications: { edges: unknown[] } } }>(
      gatewayUrl,
      `{ me { notifications(first: 100) { edges { node { id } } } } }`,
      {},
      token,
    );
    const count = me.notifications.edges.length;
    stableFor = count === previous && count >= ORDERS ? stableFor + 1 : 0;
    previous = count;
    await new Promise((r) => setTimeout(r, 500));
    return stableFor >= 4 ? true : undefined;
  });
  return { userId: signUp.signUp.user.id, orderIds };
}

/** Past JWT_CLOCK_TOLERANCE_SECONDS (5 by default) and FEED_MARGIN_SECONDS (5) after the revocation feed joined. */
const TOKEN_AFTER_START_MS = 12_000;

/**
 * Logs the bench customer in (on the measured stack) for a real access token,
 * once the gateways have run for a few seconds. Our gateway looks a token up
 * in Redis for the revocations it did not hear only when the token was
 * issued within seconds of the gateway's start (gateway/src/auth/revocation.ts);
 * in a running shop nearly every token is issued later, and so is the bench's.
 */
export async function logInCustomer(gatewayUrl: string): Promise<string> {
  await sleep(TOKEN_AFTER_START_MS);
  const data = await call<{ logIn: { accessToken: string } }>(
    gatewayUrl,
    `mutation($email: String!, $password: String!) { logIn(email: $email, password: $password) { accessToken } }`,
    { email: BENCH_CUSTOMER.email, password: BENCH_CUSTOMER.password },
  );
  return data.logIn.accessToken;
}
