import pg from 'pg';
import { INTERRUPTED_REASON, type ReceivedEmail } from '@storefront/notifications/testing';
import { renderOrderUpdate, type OrderUpdateStatus } from '@storefront/notifications/templates';
import type { OrderRecord, WatchRecord } from './customers.ts';

/**
 * What the suite checks once the load has ended and the system has settled,
 * read from each service's own tables (one PostgreSQL database, a schema per
 * service), from the SMTP server's inbox and from the watchers' records.
 * Each check lists what it found wrong, so a failure names the orders.
 */
export interface DbOrder {
  id: string;
  userId: string;
  key: string;
  status: string;
  version: number;
}

export interface Snapshot {
  orders: DbOrder[];
  /** Per product: units on hand now. */
  stock: Map<string, number>;
  /** Per order: its lines. */
  items: Map<string, { productId: string; quantity: number }[]>;
  /** Per order: its status changes after PENDING (sequence > 1). */
  changes: Map<string, { sequence: number; status: string }[]>;
  notifications: {
    id: string;
    userId: string;
    channel: string;
    subject: string;
    eventId: string;
    status: string | null;
    lastError: string | null;
  }[];
  unpublishedOutbox: Record<string, number>;
}

const LIVE = new Set(['CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED']);

export async function readSnapshot(databaseUrl: string): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const q = async <T extends pg.QueryResultRow>(sql: string) => (await client.query<T>(sql)).rows;
    const orders = (
      await q<{ id: string; user_id: string; idempotency_key: string; status: string; version: number }>(
        `SELECT id, user_id, idempotency_key, status::text AS status, version FROM orders.orders`,
      )
    ).map((o) => ({ id: o.id, userId: o.user_id, key: o.idempotency_key, status: o.status, version: o.version }));
    const stock = new Map(
      (await q<{ id: string; stock_level: number }>(`SELECT id, stock_level FROM products.products`)).map((p) => [
        p.id,
        p.stock_level,
      ]),
    );
    const items = new Map<string, { productId: string; quantity: number }[]>();
    for (const row of await q<{ order_id: string; product_id: string; quantity: number }>(
      `SELECT order_id, product_id, quantity FROM orders.order_items`,
    ))
      items.set(row.order_id, [
        ...(items.get(row.order_id) ?? []),
        { productId: row.product_id, quantity: row.quantity },
      ]);
    const changes = new Map<string, { sequence: number; status: string }[]>();
    for (const row of await q<{ order_id: string; sequence: number; status: string }>(
      `SELECT order_id, sequence, status::text AS status FROM orders.order_status_changes WHERE sequence > 1 ORDER BY order_id, sequence`,
    ))
      changes.set(row.order_id, [...(changes.get(row.order_id) ?? []), { sequence: row.sequence, status: row.status }]);
    const notifications = (
      await q<{
        id: string;
        user_id: string;
        channel: string;
        subject: string;
        event_id: string;
        status: string | null;
        last_error: string | null;
      }>(
        `SELECT id, user_id, channel::text AS channel, subject, event_id, status::text AS status, last_error FROM notifications.notifications`,
      )
    ).map((n) => ({
      id: n.id,
      userId: n.user_id,
      channel: n.channel,
      subject: n.subject,
      eventId: n.event_id,
      status: n.status,
      lastError: n.last_error,
    }));
    const unpublishedOutbox: Record<string, number> = {};
    for (const schema of ['users', 'products', 'orders', 'notifications']) {
      const [row] = await q<{ count: string }>(
        `SELECT count(*) AS count FROM ${schema}.outbox_events WHERE published_at IS NULL`,
      );
      unpublishedOutbox[schema] = Number(row!.count);
    }
    return { orders, stock, items, changes, notifications, unpublishedOutbox };
  } finally {
    await client.end();
  }
}

/** Why the system has not settled yet (empty: it has). */
export function unsettled(snapshot: Snapshot, watches: WatchRecord[]): string[] {
  const reasons: string[] = [];
  const pending = snapshot.orders.filter((o) => o.status === 'PENDING').length;
  if (pending) reasons.push(`${pending} orders PENDING`);
  const outbox = Object.entries(snapshot.unpublishedOutbox).filter(([, n]) => n > 0);
  if (outbox.length) reasons.push(`outbox rows unpublished: ${outbox.map(([s, n]) => `${s} ${n}`).join(', ')}`);
  const sending = snapshot.notifications.filter((n) => n.status === 'PENDING' || n.status === 'SENDING').length;
  if (sending) reasons.push(`${sending} emails PENDING or SENDING`);
  const missing = missingInApp(snapshot).length;
  if (missing) reasons.push(`${missing} status changes without their in-app notification yet`);
  const versions = new Map(snapshot.orders.map((o) => [o.id, o.version]));
  const behind = watches.filter((w) => (w.versions.at(-1) ?? 1) < (versions.get(w.orderId) ?? 1)).length;
  if (behind) reasons.push(`${behind} watchers behind their order's version`);
  return reasons;
}

export interface Check {
  name: string;
  /** The figure the table shows (e.g. "0 of 512"). */
  figure: string;
  problems: string[];
}

export function checkOrders(snapshot: Snapshot, records: OrderRecord[]): Check {
  const byKey = new Map<string, DbOrder[]>();
  for (const order of snapshot.orders) byKey.set(order.key, [...(byKey.get(order.key) ?? []), order]);
  const problems: string[] = [];
  let lost = 0;
  let duplicated = 0;
  const acknowledged = records.filter((r) => r.orderId);
  for (const record of acknowledged) {
    const stored = byKey.get(record.key) ?? [];
    if (stored.length === 0) {
      lost++;
      problems.push(`${record.key}: acknowledged as ${record.orderId}, not stored`);
    } else if (stored.length > 1) {
      duplicated++;
      problems.push(`${record.key}: stored ${stored.length} times (${stored.map((o) => o.id).join(', ')})`);
    } else if (stored[0]!.id !== record.orderId) {
      problems.push(`${record.key}: acknowledged as ${record.orderId}, stored as ${stored[0]!.id}`);
    }
  }
  const known = new Set(records.map((r) => r.key));
  for (const order of snapshot.orders)
    if (!known.has(order.key) && order.key.startsWith('checkout-')) problems.push(`${order.key}: stored, never sent`);
  return {
    name: 'every acknowledged order stored exactly once per idempotency key',
    figure: `${acknowledged.length} acknowledged: ${lost} lost, ${duplicated} duplicated`,
    problems,
  };
}

export function checkStuck(snapshot: Snapshot): Check {
  const stuck = snapshot.orders.filter((o) => o.status === 'PENDING');
  return {
    name: 'no order stuck PENDING',
    figure: `${stuck.length} of ${snapshot.orders.length} PENDING`,
    problems: stuck.map((o) => `${o.key} (${o.id}) is PENDING`),
  };
}

export function checkStock(snapshot: Snapshot, initial: Map<string, number>): Check {
  const problems: string[] = [];
  const sold = new Map<string, number>();
  for (const order of snapshot.orders) {
    if (!LIVE.has(order.status)) continue;
    for (const item of snapshot.items.get(order.id) ?? [])
      sold.set(item.productId, (sold.get(item.productId) ?? 0) + item.quantity);
  }
  for (const [productId, start] of initial) {
    const now = snapshot.stock.get(productId);
    const expected = start - (sold.get(productId) ?? 0);
    if (now !== expected)
      problems.push(
        `product ${productId}: ${start} at start − ${sold.get(productId) ?? 0} in live orders = ${expected}, but ${now} on hand`,
      );
  }
  return {
    name: 'stock balanced per product (start − on hand = units in live orders)',
    figure: `${problems.length} of ${initial.size} products off`,
    problems,
  };
}

export function checkNotifications(snapshot: Snapshot, emails: ReceivedEmail[]): Check {
  const problems: string[] = [];
  const count = <T>(items: T[], key: (item: T) => string) => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return [...counts].filter(([, n]) => n > 1);
  };
  const duplicateNotifications = count(snapshot.notifications, (n) => `${n.userId} ${n.channel} "${n.subject}"`);
  for (const [key, n] of duplicateNotifications) problems.push(`notification ${key} stored ${n} times`);
  const duplicateIds = count(emails, (e) => e.headers.get('message-id') ?? '(none)');
  for (const [id, n] of duplicateIds) problems.push(`email ${id} received ${n} times`);
  const duplicateEmails = count(emails, (e) => `${e.to} "${e.subject}"`);
  for (const [key, n] of duplicateEmails) problems.push(`email to ${key} received ${n} times`);
  for (const missing of missingInApp(snapshot)) problems.push(`no in-app notification for ${missing}`);
  const interrupted = checkEmailsAgainstRecords(snapshot, emails, problems);
  return {
    name: 'no notification or email duplicated (none missing in-app)',
    figure: `${snapshot.notifications.filter((n) => n.channel === 'IN_APP').length} in-app, ${emails.length} emails: ${
      duplicateNotifications.length + duplicateIds.length + duplicateEmails.length
    } duplicated, ${interrupted} interrupted mid-send`,
    problems,
  };
}

/**
 * Each email received matches its notification (the Message-ID carries the
 * notification's id): one recorded SENT arrived exactly once; one that
 * arrived is SENT, or FAILED as interrupted — a kill -9 between the SMTP
 * server's acceptance and the recording leaves the outcome unknown, and the
 * sender then dead-letters it rather than risk a second copy (see
 * subgraphs/notifications/src/email/sender.ts). Returns how many of those
 * interrupted sends the inbox shows arrived.
 */
function checkEmailsAgainstRecords(snapshot: Snapshot, emails: ReceivedEmail[], problems: string[]): number {
  const received = new Set(emails.map((e) => /^<([^@>]+)@/.exec(e.headers.get('message-id') ?? '')?.[1]));
  const records = new Map(snapshot.notifications.filter((n) => n.channel === 'EMAIL').map((n) => [n.id, n]));
  let interrupted = 0;
  for (const record of records.values())
    if (record.status === 'SENT' && !received.has(record.id))
      problems.push(`email ${record.id} recorded SENT, never received`);
  for (const id of received) {
    const record = id === undefined ? undefined : records.get(id);
    if (!record) problems.push(`email received with no notification of its Message-ID (${id ?? 'none'})`);
    else if (record.status === 'FAILED' && record.lastError === INTERRUPTED_REASON) interrupted++;
    else if (record.status !== 'SENT') problems.push(`email ${id} received but recorded ${record.status}`);
  }
  return interrupted;
}

export function checkWatches(snapshot: Snapshot, watches: WatchRecord[]): Check {
  const versions = new Map(snapshot.orders.map((o) => [o.id, o.version]));
  const problems: string[] = [];
  for (const watch of watches) {
    const last = versions.get(watch.orderId) ?? 1;
    const expected = Array.from({ length: last - 1 }, (_, i) => i + 2);
    if (watch.versions.join() !== expected.join())
      problems.push(
        `order ${watch.orderId}: saw versions [${watch.versions.join(', ')}], expected [${expected.join(', ')}]`,
      );
    for (const problem of watch.problems) problems.push(`order ${watch.orderId}: ${problem}`);
  }
  const resubscribed = watches.reduce((sum, w) => sum + w.resubscriptions, 0);
  return {
    name: 'watched orders saw contiguous versions (orderStatusChanged)',
    figure: `${watches.length} watched, ${resubscribed} resubscriptions: ${problems.length} with gaps or repeats`,
    problems,
  };
}

/** Status changes (after PENDING) whose owner has no in-app notification of them (matched by subject). */
function missingInApp(snapshot: Snapshot): string[] {
  const subjects = new Set(
    snapshot.notifications.filter((n) => n.channel === 'IN_APP').map((n) => `${n.userId} ${n.subject}`),
  );
  const missing: string[] = [];
  for (const order of snapshot.orders) {
    for (const change of snapshot.changes.get(order.id) ?? []) {
      const { subject } = renderOrderUpdate({ orderId: order.id, status: change.status as OrderUpdateStatus });
      if (!subjects.has(`${order.userId} ${subject}`))
        missing.push(`${order.key} ${change.status} (version ${change.sequence})`);
    }
  }
  return missing;
}
