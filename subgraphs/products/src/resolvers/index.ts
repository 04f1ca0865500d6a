import { DateTimeScalar, keysetQuery, pageBounds, toConnection, parseId } from '@storefront/platform/resolvers';
import { NotFoundError } from '@storefront/platform/errors';
import * as catalog from '../catalog.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { searchProducts } from '../search.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    product: async (_parent, { id }, ctx) => {
      const product = await ctx.loaders.productById.load(parseId(id, 'id'));
      if (!product) throw new NotFoundError('Product', id);
      return product;
    },
    products: async (_parent, args, ctx) => {
      const page = keysetQuery(args);
      const categoryId = args.categoryId != null ? parseId(args.categoryId, 'categoryId') : undefined;
      const rows = await ctx.runtime.db.product.findMany({
        where: { ...page.where, ...(categoryId ? { categoryId } : {}) },
        orderBy: page.orderBy,
        take: page.take,
      });
      for (const row of rows) ctx.loaders.productById.prime(row.id, row);
      return toConnection(rows, page.size);
    },
    searchProducts: (_parent, { query, ...page }, ctx) => searchProducts(ctx, query, page),
    categories: async (_parent, _args, ctx) => {
      const rows = await ctx.runtime.db.category.findMany({ orderBy: { name: 'asc' } });
      for (const row of rows) ctx.loaders.categoryById.prime(row.id, row);
      return rows;
    },
  },
  Mutation: {
    createProduct: (_parent, { input }, ctx) => catalog.createProduct(ctx, input),
    updateProduct: (_parent, { id, input }, ctx) => catalog.updateProduct(ctx, id, input),
    adjustStock: (_parent, { productId, delta }, ctx) => catalog.adjustStock(ctx, productId, delta),
    createCategory: (_parent, { name }, ctx) => catalog.createCategory(ctx, name),
  },
  Product: {
    __resolveReference: (reference, ctx) => ctx.loaders.productById.load(reference.id),
    price: (product) => ({ amount: product.priceAmount, currency: product.currency }),
    category: async (product, _args, ctx) => {
      const category = await ctx.loaders.categoryById.load(product.categoryId);
      // The foreign key makes this unreachable; if it happens, it is a server fault, not the client's.
      if (!category) throw new Error(`category ${product.categoryId} of product ${product.id} is missing`);
      return category;
    },
    inStock: (product) => product.stockLevel > 0,
  },
  Category: {
    __resolveReference: (reference, ctx) => ctx.loaders.categoryById.load(reference.id),
    products: (category, args, ctx) =>
      ctx.loaders.productsOfCategory.load({ categoryId: category.id, ...pageBounds(args) }),
  },
};
