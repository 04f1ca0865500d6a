import { randomUUID } from 'node:crypto';
import { eventually } from '@storefront/platform/testing';
import type { Stack } from './stack.ts';

/**
 * One order's way from PENDING to DELIVERED, driven over plain HTTP, for
 * tests that watch it from a client (a subscription in an app, a browser):
 * a product with stock, an order placed, the saga's CONFIRMED awaited, then
 * paid by its owner, shipped and delivered by staff.
 */
export interface OrderJourney {
  admin: string;
  productId: string;
  /** Places an order of one unit for the token's user; its id. */
  place(token: string): Promise<string>;
  /** Pays (as the owner), ships and delivers (as staff) an order once the saga has confirmed it. */
  deliver(orderId: string, ownerToken: string): Promise<void>;
}

export async function prepareOrderJourney(stack: Stack): Promise<OrderJourney> {
  const admin = await stack.logInAdmin();
  await stack.services.products.seed();
  const categoryId = (await stack.query(`{ categories { id } }`)).data!.categories[0].id;
  const created = await stack.query(
    `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
    {
      input: {
        sku: `SKU-${randomUUID().slice(0, 8)}`,
        name: 'Reading Lamp',
        description: 'Warm light',
        price: { amount: 3100, currency: 'USD' },
        categoryId,
        stockLevel: 1000,
      },
    },
    admin,
  );
  const productId = created.data?.createProduct?.id as string;
  if (!productId) throw new Error(`createProduct failed: ${JSON.stringify(created.errors)}`);

  const mutate = async (mutation: string, id: string, token: string) => {
    const res = await stack.query(`mutation($id: ID!) { ${mutation}(id: $id) { status } }`, { id }, token);
    if (!res.data?.[mutation]) throw new Error(`${mutation} failed: ${JSON.stringify(res.errors)}`);
  };
  return {
    admin,
    productId,
    place: async (token) =>
      (
        await eventually(
          async () =>
            (
              await stack.query(
                `mutation($input: PlaceOrderInput!, $key: String!) { placeOrder(input: $input, idempotencyKey: $key) { id } }`,
                { input: { items: [{ productId, quantity: 1 }] }, key: randomUUID() },
                token,
              )
            ).data?.placeOrder,
          30_000,
          'placeOrder to accept the product',
        )
      ).id as string,
    deliver: async (orderId, ownerToken) => {
      await eventually(
        async () =>
          (await stack.query(`query($id: ID!) { order(id: $id) { status } }`, { id: orderId }, ownerToken)).data?.order
            ?.status === 'CONFIRMED',
        60_000,
        `order ${orderId} to be CONFIRMED`,
      );
      await mutate('payOrder', orderId, ownerToken);
      await mutate('shipOrder', orderId, admin);
      await mutate('deliverOrder', orderId, admin);
    },
  };
}
