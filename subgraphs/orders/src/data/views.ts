import type { OrderItem } from './generated/client.ts';

/**
 * Shapes the resolvers work with where they differ from the Prisma models
 * (the codegen mappers point here).
 */

/** An order line with its order's currency, which prices are stored without. */
export interface OrderItemView extends OrderItem {
  currency: string | null;
}

/** Entities other services own: orders only knows their ids. */
export interface UserReference {
  __typename?: 'User';
  id: string;
}

export interface ProductReference {
  __typename?: 'Product';
  id: string;
}

/** `orders.shipping_address`, as validated and normalised by placeOrder. */
export interface ShippingAddress {
  line1: string;
  line2: string | null;
  city: string;
  postalCode: string | null;
  country: string;
}

export interface Money {
  amount: number;
  currency: string;
}
