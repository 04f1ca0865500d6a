import { BadUserInputError } from '@storefront/platform/errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUID columns: anything else would reach PostgreSQL as a cast error, so it is refused here. */
export const isUuid = (value: string): boolean => UUID.test(value);

/** A client-supplied id in the form the database returns it (lower case), or BAD_USER_INPUT naming `field`. */
export function parseId(value: string, field: string): string {
  if (!isUuid(value)) throw new BadUserInputError(`"${field}" is not a valid id`, field);
  return value.toLowerCase();
}
