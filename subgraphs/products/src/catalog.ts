import { TOPICS } from '@storefront/platform/events';
import { BadUserInputError, NotFoundError } from '@storefront/platform/errors';
import { parseId } from '@storefront/platform/resolvers';
import type { Context } from './context.ts';
import type { Category, Product, ProductsTx } from './data/client.ts';
import { Prisma } from './data/generated/client.ts';
import { categoryCreated, productCreated, productUpdated } from './events/product-events.ts';
import type { CreateProductInput, UpdateProductInput } from './generated/graphql.ts';
import {
  MAX_STOCK,
  validCategoryName,
  validDescription,
  validName,
  validPrice,
  validSku,
  validStockLevel,
} from './validation.ts';

/**
 * The catalog's write use cases (staff). Every change to a product or the
 * categories is announced on inventory-events through the outbox, in the same
 * transaction.
 */
export async function createProduct(ctx: Context, input: CreateProductInput): Promise<Product> {
  const data = {
    sku: validSku(input.sku),
    name: validName(input.name),
    description: validDescription(input.description ?? ''),
    ...validPrice(input.price),
    categoryId: parseId(input.categoryId, 'input.categoryId'),
    stockLevel: validStockLevel(input.stockLevel ?? 0),
  };
  return refuseDuplicateSku(() =>
    ctx.runtime.transact(async (tx, emit) => {
      await assertCategoryExists(tx, data.categoryId);
      const product = await tx.product.create({ data });
      await emit(TOPICS.inventoryEvents, productCreated(product));
      return product;
    }),
  );
}

export async function updateProduct(ctx: Context, idInput: string, input: UpdateProductInput): Promise<Product> {
  const id = parseId(idInput, 'id');
  const data: Prisma.ProductUncheckedUpdateInput = {};
  if (input.sku != null) data.sku = validSku(input.sku);
  if (input.name != null) data.name = validName(input.name);
  if (input.description != null) data.description = validDescription(input.description);
  if (input.price != null) Object.assign(data, validPrice(input.price));
  const categoryId = input.categoryId != null ? parseId(input.categoryId, 'input.categoryId') : undefined;
  if (categoryId) data.categoryId = categoryId;
  return refuseDuplicateSku(() =>
    ctx.runtime.transact(async (tx, emit) => {
      if (!(await tx.product.findUnique({ where: { id }, select: { id: true } })))
        throw new NotFoundError('Product', id);
      if (categoryId) await assertCategoryExists(tx, categoryId);
      const product = await tx.product.update({ where: { id }, data });
      await emit(TOPICS.inventoryEvents, productUpdated(product));
      return product;
    }),
  );
}

/** A relative change, applied in one conditional UPDATE so concurrent adjustments and reservations cannot overdraw. */
export async function adjustStock(ctx: Context, productIdInput: string, delta: number): Promise<Product> {
  const id = parseId(productIdInput, 'productId');
  if (!Number.isInteger(delta) || Math.abs(delta) > MAX_STOCK) {
    throw new BadUserInputError(`Delta must be between -${MAX_STOCK} and ${MAX_STOCK}`, 'delta');
  }
  return ctx.runtime.transact(async (tx, emit) => {
    const changed = await tx.product.updateMany({
      where: { id, stockLevel: delta < 0 ? { gte: -delta } : { lte: MAX_STOCK - delta } },
      data: { stockLevel: { increment: delta } },
    });
    if (changed.count === 0) {
      const current = await tx.product.findUnique({ where: { id }, select: { stockLevel: true } });
      if (!current) throw new NotFoundError('Product', id);
      throw delta < 0
        ? new BadUserInputError(`Stock cannot go below zero: ${current.stockLevel} on hand, delta ${delta}`, 'delta')
        : new BadUserInputError(`Stock cannot exceed ${MAX_STOCK}`, 'delta');
    }
    const product = await tx.product.findUniqueOrThrow({ where: { id } });
    await emit(TOPICS.inventoryEvents, productUpdated(product));
    return product;
  });
}

export async function createCategory(ctx: Context, nameInput: string): Promise<Category> {
  const name = validCategoryName(nameInput);
  try {
    return await ctx.runtime.transact(async (tx, emit) => {
      const category = await tx.category.create({ data: { name } });
      await emit(TOPICS.inventoryEvents, categoryCreated(category));
      return category;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new BadUserInputError(`A category named "${name}" already exists`, 'name');
    throw error;
  }
}

async function assertCategoryExists(tx: ProductsTx, categoryId: string): Promise<void> {
  if (!(await tx.category.findUnique({ where: { id: categoryId }, select: { id: true } }))) {
    throw new BadUserInputError(`Category ${categoryId} does not exist`, 'input.categoryId');
  }
}

/** The SKU is the products table's only unique column a client chooses. */
async function refuseDuplicateSku<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error)) throw new BadUserInputError('A product with this SKU already exists', 'input.sku');
    throw error;
  }
}

const isUniqueViolation = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
