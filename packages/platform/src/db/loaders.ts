import DataLoader from 'dataloader';
import { isUuid, normaliseId } from '../resolvers/ids.ts';

/**
 * A per-request loader of rows by their uuid id: the ids asked for in one tick
 * (the gateway sends one representation per entity, duplicates included)
 * become one `findMany`. An id that is not a UUID loads as null without
 * reaching the database, so a malformed argument or representation is "not
 * found" rather than a cast error; ids are matched in the lower case
 * PostgreSQL returns them in.
 */
export function createByIdLoader<Row extends { id: string }>(
  findMany: (ids: string[]) => Promise<Row[]>,
): DataLoader<string, Row | null> {
  return new DataLoader<string, Row | null>(async (ids) => {
    const wanted = [...new Set(ids.filter(isUuid).map(normaliseId))];
    const rows = wanted.length ? await findMany(wanted) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(normaliseId(id)) ?? null);
  });
}
