const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUID columns: anything else would be a database error, not "not found". */
export const isUuid = (value: string): boolean => UUID.test(value);

/** PostgreSQL returns UUIDs in lower case; keys compare in that form. */
export const normaliseId = (value: string): string => value.toLowerCase();
