import { createEvent, type EventEnvelope } from '@storefront/platform/events';
import type { Category, Product } from '../data/client.ts';

/** Catalog events of `inventory-events`: orders learns which product ids exist from them. */
export interface ProductSnapshot {
  productId: string;
  sku: string;
  name: string;
  price: { amount: number; currency: string };
  stockLevel: number;
}

const snapshot = (product: Product): ProductSnapshot => ({
  productId: product.id,
  sku: product.sku,
  name: product.name,
  price: { amount: product.priceAmount, currency: product.currency },
  stockLevel: product.stockLevel,
});

export const productCreated = (product: Product): EventEnvelope<ProductSnapshot> =>
  createEvent('products', 'ProductCreated', product.id, snapshot(product));

export const productUpdated = (product: Product): EventEnvelope<ProductSnapshot> =>
  createEvent('products', 'ProductUpdated', product.id, snapshot(product));

/**
 * A product went out of stock, or came back: of all stock movements, the only
 * one the public catalog shows (`inStock`). Orders reserve and release stock
 * all day; announcing only the flips keeps the gateway's cached catalog alive
 * through that traffic.
 */
export const productAvailabilityChanged = (
  productId: string,
  inStock: boolean,
): EventEnvelope<{ productId: string; inStock: boolean }> =>
  createEvent('products', 'ProductAvailabilityChanged', productId, { productId, inStock });

/** A new category: nothing consumes it for its data, but it is a catalog change (the gateway's response cache drops its answers). */
export const categoryCreated = (category: Category): EventEnvelope<{ categoryId: string; name: string }> =>
  createEvent('products', 'CategoryCreated', category.id, { categoryId: category.id, name: category.name });
