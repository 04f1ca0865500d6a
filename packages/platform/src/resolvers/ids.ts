import { BadUserInputError } from '../errors/index.ts';

/**
 * Every id in this project is a PostgreSQL `uuid` column. A value that is not
 * a UUID never names a row, and handed to the database it is a cast error,
 * which the server masks as INTERNAL_SERVER_ERROR. So ids from clients,
 * representations, cursors and events are checked here first, and the caller
 * answers as it would for an unknown id (NOT_FOUND, null) or, for an input
 * field, BAD_USER_INPUT.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** PostgreSQL returns UUIDs in lower case; ids used as map or cache keys must be in that form to match its rows. */
export const normaliseId = (value: string): string => value.toLowerCase();

/** An id from an input field, normalised, or BAD_USER_INPUT naming `field` (e.g. `input.categoryId`). */
export function parseId(value: string, field: string): string {
  if (!isUuid(value)) throw new BadUserInputError(`"${field}" is not a valid id`, field);
  return normaliseId(value);
}
