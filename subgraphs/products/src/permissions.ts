import { isPublic, isStaff } from '@storefront/platform/service';
import type { IRules } from 'graphql-shield';

/**
 * Who may read and do what in the products service. The catalog is public;
 * stock levels and every change are staff-only. Anything not listed is denied.
 */
export const permissions: IRules = {
  Query: {
    product: isPublic,
    products: isPublic,
    searchProducts: isPublic,
    categories: isPublic,
    _service: isPublic,
    _entities: isPublic,
  },
  Mutation: {
    createProduct: isStaff,
    updateProduct: isStaff,
    adjustStock: isStaff,
    createCategory: isStaff,
  },
  Product: {
    id: isPublic,
    sku: isPublic,
    name: isPublic,
    description: isPublic,
    price: isPublic,
    category: isPublic,
    inStock: isPublic,
    createdAt: isPublic,
    stockLevel: isStaff,
  },
  Category: isPublic,
  Money: isPublic,
  ProductConnection: isPublic,
  ProductEdge: isPublic,
  PageInfo: isPublic,
  _Service: isPublic,
};
