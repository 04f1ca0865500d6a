import { BadUserInputError } from '@storefront/platform/errors';

/**
 * Checks and normalises catalog input. Each check names the input path it
 * refuses, so a client can point at the offending field.
 */
export const MAX_STOCK = 1_000_000_000;
const MAX_PRICE = 1_000_000_000;
const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CURRENCY = /^[A-Z]{3}$/;

export function validSku(sku: string, field = 'input.sku'): string {
  const trimmed = sku.trim();
  if (!SKU.test(trimmed)) {
    throw new BadUserInputError("SKU must be 1 to 64 characters: letters, digits, '-', '_' and '.'", field);
  }
  return trimmed;
}

export function validName(name: string, field = 'input.name'): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200)
    throw new BadUserInputError('Name must be 1 to 200 characters', field);
  return trimmed;
}

export function validDescription(description: string, field = 'input.description'): string {
  const trimmed = description.trim();
  if (trimmed.length > 5000) throw new BadUserInputError('Description must be at most 5000 characters', field);
  return trimmed;
}

export function validPrice(
  price: { amount: number; currency: string },
  field = 'input.price',
): { priceAmount: number; currency: string } {
  if (!Number.isInteger(price.amount) || price.amount < 0 || price.amount > MAX_PRICE) {
    throw new BadUserInputError(`Price must be 0 to ${MAX_PRICE} minor units`, `${field}.amount`);
  }
  if (!CURRENCY.test(price.currency)) {
    throw new BadUserInputError(
      'Currency must be an ISO-4217 code of three capital letters, e.g. USD',
      `${field}.currency`,
    );
  }
  return { priceAmount: price.amount, currency: price.currency };
}

export function validStockLevel(stockLevel: number, field = 'input.stockLevel'): number {
  if (!Number.isInteger(stockLevel) || stockLevel < 0 || stockLevel > MAX_STOCK) {
    throw new BadUserInputError(`Stock level must be 0 to ${MAX_STOCK}`, field);
  }
  return stockLevel;
}

export function validCategoryName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100)
    throw new BadUserInputError('Category name must be 1 to 100 characters', field);
  return trimmed;
}

export function validSearchQuery(query: string, field = 'query'): string {
  const trimmed = query.trim();
  if (!trimmed) throw new BadUserInputError('Search query must not be empty', field);
  if (trimmed.length > 200) throw new BadUserInputError('Search query must be at most 200 characters', field);
  return trimmed;
}
