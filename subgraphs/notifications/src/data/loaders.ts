import DataLoader from 'dataloader';
import { createByIdLoader } from '@storefront/platform/db';
import { isUuid, normaliseId, toConnection, type Connection, type PageBounds } from '@storefront/platform/resolvers';
import type { Notification, NotificationsDb } from './client.ts';

/**
 * Per-request loaders. `_entities` and `User.notifications` go through these,
 * so N representations cost the same number of statements as one.
 */
export function createLoaders(db: NotificationsDb) {
  const notificationById = createByIdLoader((ids) => db.notification.findMany({ where: { id: { in: ids } } }));

  const notificationsByUser = new DataLoader<UserNotificationsKey, Connection<Notification>, string>(
    async (keys) => {
      // Users asked for with the same page arguments share one query (normally all of them).
      const groups = new Map<string, UserNotificationsKey[]>();
      for (const key of keys) {
        const pageKey = pageKeyOf(key);
        const group = groups.get(pageKey);
        if (group) group.push(key);
        else groups.set(pageKey, [key]);
      }
      const pages = new Map<UserNotificationsKey, Connection<Notification>>();
      for (const group of groups.values()) {
        const result = await userNotificationPages(db, group);
        group.forEach((key, i) => pages.set(key, result[i]!));
      }
      return keys.map((key) => pages.get(key)!);
    },
    { cacheKeyFn: (key) => `${normaliseId(key.userId)}|${pageKeyOf(key)}` },
  );

  return { notificationById, notificationsByUser };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface UserNotificationsKey extends PageBounds {
  userId: string;
  unreadOnly: boolean;
  /** In-app by default: an email copy of the same message is not a second notification to the user. */
  channel: 'IN_APP' | 'EMAIL';
}

const pageKeyOf = (key: UserNotificationsKey) =>
  JSON.stringify([
    key.size,
    key.after?.createdAt.toISOString() ?? null,
    key.after?.id ?? null,
    key.unreadOnly,
    key.channel,
  ]);

/**
 * One page of notifications for each user in `keys` (all with the same page
 * arguments) in two statements: a window query picks each user's page ids,
 * then one query loads those rows.
 */
async function userNotificationPages(
  db: NotificationsDb,
  keys: UserNotificationsKey[],
): Promise<Connection<Notification>[]> {
  const { size, after, unreadOnly, channel } = keys[0]!;
  const userIds = [
    ...new Set(
      keys
        .map((k) => k.userId)
        .filter(isUuid)
        .map(normaliseId),
    ),
  ];
  if (userIds.length === 0) return keys.map(() => toConnection([], size));
  const afterAt = after ? after.createdAt.toISOString() : null;
  const afterId = after ? after.id : null;
  const picked = await db.$queryRaw<{ id: string }[]>`
    SELECT id::text AS id FROM (
      SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS rank
      FROM notifications
      WHERE user_id = ANY(${userIds}::uuid[])
        AND channel::text = ${channel}
        AND (${unreadOnly}::boolean IS FALSE OR read_at IS NULL)
        AND (${afterAt}::timestamptz IS NULL OR (created_at, id) < (${afterAt}::timestamptz, ${afterId}::uuid))
    ) ranked
    WHERE rank <= ${size + 1}`;
  const rows = picked.length
    ? await db.notification.findMany({
        where: { id: { in: picked.map((p) => p.id) } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      })
    : [];
  const byUser = new Map<string, Notification[]>();
  for (const row of rows) {
    const list = byUser.get(row.userId);
    if (list) list.push(row);
    else byUser.set(row.userId, [row]);
  }
  return keys.map((key) => toConnection(byUser.get(normaliseId(key.userId)) ?? [], size));
}
