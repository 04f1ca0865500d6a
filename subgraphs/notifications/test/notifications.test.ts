import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TOPICS, createEvent, deadLetterTopic, type EventEnvelope } from '@storefront/platform/events';
import type { Identity } from '@storefront/platform/auth';
import type { RunningService } from '@storefront/platform/service';
import {
  eventually,
  recordEvents,
  serviceTestEnv,
  subgraphCaller,
  type SubgraphCaller,
} from '@storefront/platform/testing';
import type { NotificationsDb } from '../src/data/client.ts';
import { loadNotificationsConfig, startNotifications } from '../src/index.ts';
import { notificationsOf, orderPlaced, orderStatus, publishOrderEvents, userSnapshot } from './helpers.ts';

const NOTIFICATION = `query($id: ID!) { notification(id: $id) { id channel subject body createdAt readAt user { id } } }`;
const MARK_READ = `mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }`;
const USER_NOTIFICATIONS = `query($r: [_Any!]!, $first: Int, $after: String, $unreadOnly: Boolean) {
  _entities(representations: $r) {
    ... on User { id notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
      edges { cursor node { id subject readAt } }
      pageInfo { hasNextPage endCursor }
    } }
  }
}`;

const customer = (userId: string): Identity => ({ userId, role: 'CUSTOMER' });
const STAFF: Identity = { userId: randomUUID(), role: 'STAFF' };

describe('notifications: order events become notifications', () => {
  let service: RunningService<NotificationsDb>;
  let created: EventEnvelope[];
  let deadLetters: EventEnvelope[];
  let call: SubgraphCaller;
  const userNotifications = (userId: string, identity: Identity | null, args: Record<string, unknown> = {}) =>
    call(USER_NOTIFICATIONS, { r: [{ __typename: 'User', id: userId }], ...args }, identity);

  before(async () => {
    service = await startNotifications(loadNotificationsConfig(await serviceTestEnv()));
    await service.consumersRunning;
    call = subgraphCaller(service);
    await service.bus.ensureTopics([TOPICS.orderEvents, TOPICS.userEvents]);
    created = (await recordEvents(service.bus, [TOPICS.notificationEvents])).events;
    deadLetters = (await recordEvents(service.bus, [deadLetterTopic(TOPICS.orderEvents)])).events;
  });
  after(() => service?.stop());

  it('creates one IN_APP notification for the order’s customer, worded from what it knows, and announces it', async () => {
    const ann = randomUUID();
    const orderId = randomUUID();
    await publishOrderEvents(
      service,
      orderPlaced(orderId, ann, [1, 1]),
      orderStatus('OrderConfirmed', orderId, ann, { total: { amount: 5998, currency: 'USD' } }),
    );
    const [notification] = await notificationsOf(service, ann, 1);
    assert.equal(notification!.channel, 'IN_APP');
    assert.equal(notification!.subject, `Order ${orderId.slice(0, 8)} confirmed`);
    assert.equal(notification!.body, 'Your order of 2 items totalling $59.98 is confirmed.');

    const res = await call(NOTIFICATION, { id: notification!.id }, customer(ann));
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data!.notification.user, { id: ann });
    assert.equal(res.data!.notification.readAt, null);

    const event = await eventually(() =>
      created.find((e) => (e.data as { notificationId: string }).notificationId === notification!.id),
    );
    assert.equal(event.type, 'NotificationCreated');
    assert.deepEqual(event.data, {
      notificationId: notification!.id,
      userId: ann,
      channel: 'IN_APP',
      subject: notification!.subject,
    });
  });

  it('has a notification for every announced status and none for others', async () => {
    const bob = randomUUID();
    const orderId = randomUUID();
    const total = { amount: 1250, currency: 'EUR' };
    await publishOrderEvents(
      service,
      orderPlaced(orderId, bob, [3]),
      createEvent('orders', 'OrderNoteAdded', orderId, { orderId, userId: bob }),
      orderStatus('OrderConfirmed', orderId, bob, { sequence: 2, total }),
      orderStatus('OrderPaid', orderId, bob, { sequence: 3 }),
      orderStatus('OrderShipped', orderId, bob, { sequence: 4 }),
      orderStatus('OrderDelivered', orderId, bob, { sequence: 5 }),
    );
    const otherOrder = randomUUID();
    await publishOrderEvents(
      service,
      orderPlaced(otherOrder, bob, [1]),
      orderStatus('OrderRejected', otherOrder, bob, { reason: 'Not enough stock' }),
    );
    const cancelled = randomUUID();
    await publishOrderEvents(
      service,
      orderStatus('OrderCancelled', cancelled, bob, { reason: 'Cancelled by the customer' }),
    );
    const rows = await notificationsOf(service, bob, 6);
    const bodies = rows.map((n) => n.body).sort();
    assert.deepEqual(
      bodies,
      [
        'Your order 0000 has been cancelled. Reason: Cancelled by the customer.'.replace('0000', cancelled.slice(0, 8)),
        'Your order of 1 item could not be accepted. Reason: Not enough stock.',
        'Your order of 3 items totalling €12.50 has been delivered.',
        'Your order of 3 items totalling €12.50 is confirmed.',
        'Your order of 3 items totalling €12.50 is on its way.',
        `We have received your payment of €12.50 for order ${orderId.slice(0, 8)}. We will let you know when it ships.`,
      ].sort(),
    );
  });

  it('creates one notification however often the same event is delivered', async () => {
    const carol = randomUUID();
    const orderId = randomUUID();
    const confirmed = orderStatus('OrderConfirmed', orderId, carol, { total: { amount: 100, currency: 'USD' } });
    await publishOrderEvents(service, confirmed, confirmed);
    await publishOrderEvents(service, confirmed);
    // Same order, same partition: once this one is in, the copies before it were handled.
    await publishOrderEvents(service, orderStatus('OrderPaid', orderId, carol, { sequence: 3 }));
    const rows = await notificationsOf(service, carol, 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await service.db.notification.count({ where: { userId: carol } }), 2);
    assert.deepEqual(rows.map((n) => n.subject).sort(), [
      `Order ${orderId.slice(0, 8)} confirmed`,
      `Payment received for order ${orderId.slice(0, 8)}`,
    ]);
    await eventually(() => created.filter((e) => (e.data as { userId: string }).userId === carol).length === 2);
  });

  it('parks an event it cannot read on the dead-letter topic and moves on', async () => {
    const dan = randomUUID();
    const orderId = randomUUID();
    const malformed = createEvent('orders', 'OrderConfirmed', orderId, {
      orderId,
      userId: 'not-a-uuid',
      status: 'CONFIRMED',
    });
    await publishOrderEvents(service, malformed, orderStatus('OrderShipped', orderId, dan));
    await notificationsOf(service, dan, 1);
    const letter = await eventually(() =>
      deadLetters.find((l) => (l.data as { event: EventEnvelope }).event.id === malformed.id),
    );
    assert.match((letter.data as { error: string }).error, /userId: must be a UUID/);
  });

  it('keeps its recipients from user events', async () => {
    const erin = randomUUID();
    await service.bus.publish(TOPICS.userEvents, [
      userSnapshot('UserRegistered', erin, { email: 'erin@example.com', name: 'Erin' }),
      userSnapshot('UserUpdated', erin, { email: 'erin@example.com', name: 'Erin B', emailNotifications: false }),
    ]);
    const updated = await eventually(async () => {
      const row = await service.db.recipient.findUnique({ where: { userId: erin } });
      return row?.name === 'Erin B' ? row : undefined;
    });
    assert.equal(updated.email, 'erin@example.com');
    assert.equal(updated.emailNotifications, false);
    assert.equal(updated.deactivatedAt, null);
    await service.bus.publish(TOPICS.userEvents, [createEvent('users', 'UserDeactivated', erin, { userId: erin })]);
    await eventually(async () => (await service.db.recipient.findUnique({ where: { userId: erin } }))?.deactivatedAt);
  });

  it('welcomes a new user in-app and, without SMTP_URL, logs their email instead of sending it', async () => {
    const gil = randomUUID();
    await service.bus.publish(TOPICS.userEvents, [
      userSnapshot('UserRegistered', gil, { email: 'gil@example.com', name: 'Gil' }),
    ]);
    const rows = await eventually(async () => {
      const all = await service.db.notification.findMany({ where: { userId: gil }, orderBy: { channel: 'asc' } });
      return all.length === 2 && all[1]!.status !== 'PENDING' && all[1]!.status !== 'SENDING' ? all : undefined;
    });
    assert.deepEqual(
      rows.map((n) => [n.channel, n.subject, n.status]),
      [
        ['IN_APP', 'Welcome to Storefront, Gil', null],
        ['EMAIL', 'Welcome to Storefront, Gil', 'SKIPPED'],
      ],
    );
    assert.match(rows[1]!.lastError ?? '', /SMTP_URL unset/);
    assert.equal(rows[1]!.sentAt, null);
    await eventually(() => created.find((e) => (e.data as { notificationId: string }).notificationId === rows[0]!.id));
    // NotificationCreated announces in-app notifications (the live feed); email has its own events.
    assert.equal(
      created.some(
        (e) =>
          e.type === 'NotificationCreated' && (e.data as { notificationId: string }).notificationId === rows[1]!.id,
      ),
      false,
    );
  });

  describe('reading', () => {
    const frank = randomUUID();
    let ids: string[] = [];

    before(async () => {
      for (let i = 0; i < 5; i++) {
        const orderId = randomUUID();
        await publishOrderEvents(
          service,
          orderStatus('OrderConfirmed', orderId, frank, { total: { amount: 1000 * (i + 1), currency: 'USD' } }),
        );
      }
      ids = (await notificationsOf(service, frank, 5)).map((n) => n.id);
    });

    it('pages a user’s notifications newest first', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      for (;;) {
        const res = await userNotifications(frank, customer(frank), { first: 2, after: cursor });
        assert.equal(res.errors, undefined);
        const page = res.data!._entities[0].notifications;
        seen.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
        pages++;
        if (!page.pageInfo.hasNextPage) break;
        cursor = page.pageInfo.endCursor;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, ids);
    });

    it('filters to unread ones', async () => {
      for (const id of ids.slice(0, 2))
        assert.equal((await call(MARK_READ, { id }, customer(frank))).errors, undefined);
      const res = await userNotifications(frank, customer(frank), { unreadOnly: true });
      assert.deepEqual(
        res.data!._entities[0].notifications.edges.map((e: { node: { id: string } }) => e.node.id),
        ids.slice(2),
      );
      const all = await userNotifications(frank, customer(frank), { unreadOnly: false });
      assert.equal(all.data!._entities[0].notifications.edges.length, 5);
      const unreadPage = await userNotifications(frank, customer(frank), { unreadOnly: true, first: 2 });
      assert.equal(unreadPage.data!._entities[0].notifications.pageInfo.hasNextPage, true);
    });

    it('refuses bad page arguments, naming them', async () => {
      const tooMany = await userNotifications(frank, customer(frank), { first: 0 });
      assert.equal(tooMany.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(tooMany.errors?.[0]?.extensions?.field, 'first');
      const badCursor = await userNotifications(frank, customer(frank), { after: 'nonsense' });
      assert.equal(badCursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.equal(badCursor.errors?.[0]?.extensions?.field, 'after');
    });

    it('marks read once: a second call keeps the first readAt', async () => {
      const id = ids[4]!;
      const first = await call(MARK_READ, { id }, customer(frank));
      assert.equal(first.errors, undefined);
      const readAt = first.data!.markNotificationRead.readAt;
      assert.ok(readAt);
      await new Promise((r) => setTimeout(r, 20));
      const second = await call(MARK_READ, { id }, customer(frank));
      assert.equal(second.data!.markNotificationRead.readAt, readAt);
    });

    it('shows a notification only to its owner and staff', async () => {
      const id = ids[3]!;
      const other = customer(randomUUID());
      const asOther = await call(NOTIFICATION, { id }, other);
      assert.equal(asOther.data?.notification ?? null, null);
      assert.equal(asOther.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.doesNotMatch(JSON.stringify(asOther), /confirmed/);
      const otherList = await userNotifications(frank, other);
      assert.equal(otherList.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.equal(otherList.data?._entities[0].notifications, null);
      const otherEntity = await call(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id subject } } }`,
        {
          r: [{ __typename: 'Notification', id }],
        },
        other,
      );
      assert.equal(otherEntity.data?._entities[0], null);
      assert.equal(otherEntity.errors?.[0]?.extensions?.code, 'FORBIDDEN');

      const asStaff = await call(NOTIFICATION, { id }, STAFF);
      assert.equal(asStaff.data?.notification.id, id);
      const staffList = await userNotifications(frank, STAFF, { first: 1 });
      assert.equal(staffList.data?._entities[0].notifications.edges.length, 1);
    });

    it('lets only the owner mark a notification read', async () => {
      const id = ids[2]!;
      const byOther = await call(MARK_READ, { id }, customer(randomUUID()));
      assert.equal(byOther.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      const byStaff = await call(MARK_READ, { id }, STAFF);
      assert.equal(byStaff.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.equal((await service.db.notification.findUnique({ where: { id } }))?.readAt, null);
    });

    it('asks anonymous callers to sign in', async () => {
      const id = ids[0]!;
      for (const res of [
        await call(NOTIFICATION, { id }),
        await call(MARK_READ, { id }),
        await userNotifications(frank, null),
      ]) {
        assert.equal(res.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      }
    });

    it('answers NOT_FOUND for ids that do not exist, UUID or not', async () => {
      for (const id of [randomUUID(), 'not-a-uuid']) {
        assert.equal((await call(NOTIFICATION, { id }, customer(frank))).errors?.[0]?.extensions?.code, 'NOT_FOUND');
        assert.equal((await call(MARK_READ, { id }, customer(frank))).errors?.[0]?.extensions?.code, 'NOT_FOUND');
      }
    });

    it('loads many users’ notifications and many notifications in a constant number of statements', async () => {
      // Only statements sent while serving the request count, not the outbox relay's or the consumers'.
      const cost = async (query: string, representations: unknown[]) => {
        const before = service.statementCount();
        const res = await call(query, { r: representations }, STAFF);
        assert.equal(res.errors, undefined);
        return service.statementCount() - before;
      };
      const users = (n: number) =>
        [frank, ...Array.from({ length: n - 1 }, () => randomUUID())].map((id) => ({ __typename: 'User', id }));
      const few = await cost(USER_NOTIFICATIONS, users(3));
      assert.equal(few, 2); // the window query that picks each user's page, then the page's rows
      assert.equal(await cost(USER_NOTIFICATIONS, users(60)), few);
      const NOTIFICATIONS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id subject user { id } } } }`;
      const refs = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ __typename: 'Notification', id: ids[i % ids.length] }));
      assert.equal(await cost(NOTIFICATIONS, refs(60)), await cost(NOTIFICATIONS, refs(2)));
    });
  });
});
