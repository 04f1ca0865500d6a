import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Identity } from '@storefront/platform/auth';
import type { RunningService } from '@storefront/platform/service';
import {
  connectSubgraph,
  eventually,
  serviceTestEnv,
  type SubgraphSocket,
  type TestSubscription,
} from '@storefront/platform/testing';
import type { NotificationsDb } from '../src/data/client.ts';
import { loadNotificationsConfig, startNotifications } from '../src/index.ts';
import { orderPlaced, orderStatus, publishOrderEvents } from './helpers.ts';

const RECEIVED = `subscription { notificationReceived { id channel subject readAt user { id } } }`;
const customer = (): Identity => ({ userId: randomUUID(), role: 'CUSTOMER' });

describe('notifications: notificationReceived over graphql-ws', { timeout: 120_000 }, () => {
  let service: RunningService<NotificationsDb>;
  let socket: SubgraphSocket;

  before(async () => {
    service = await startNotifications(loadNotificationsConfig(await serviceTestEnv()));
    await service.consumersRunning;
    socket = connectSubgraph(service);
  });
  after(async () => {
    await socket.close();
    await service.stop();
  });

  const subscribed = (count: number) =>
    eventually(() => service.activeSubscriptions() === count, 20_000, `${count} open subscriptions`);
  const received = (sub: TestSubscription) =>
    sub.results.map((r) => {
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      return r.data!.notificationReceived as {
        id: string;
        channel: string;
        subject: string;
        readAt: null;
        user: { id: string };
      };
    });

  it('pushes each new notification to its own user only', async () => {
    const ann = customer();
    const bob = customer();
    const anns = socket.subscribe(RECEIVED, {}, ann);
    const bobs = socket.subscribe(RECEIVED, {}, bob);
    try {
      await pushesOwnOnly(ann, bob, anns, bobs);
    } finally {
      anns.unsubscribe();
      bobs.unsubscribe();
    }
    await subscribed(0);
  });

  async function pushesOwnOnly(
    ann: Identity,
    bob: Identity,
    anns: TestSubscription,
    bobs: TestSubscription,
  ): Promise<void> {
    await subscribed(2);

    const annsOrder = randomUUID();
    const bobsOrder = randomUUID();
    await publishOrderEvents(
      service,
      orderPlaced(annsOrder, ann.userId, [1]),
      orderPlaced(bobsOrder, bob.userId, [2]),
      orderStatus('OrderConfirmed', annsOrder, ann.userId, { sequence: 2, total: { amount: 1000, currency: 'EUR' } }),
      orderStatus('OrderConfirmed', bobsOrder, bob.userId, { sequence: 2, total: { amount: 2000, currency: 'EUR' } }),
      orderStatus('OrderShipped', annsOrder, ann.userId, { sequence: 4 }),
    );
    await anns.waitFor(2);
    await bobs.waitFor(1);
    await new Promise((r) => setTimeout(r, 300));

    const annsNotes = received(anns);
    // NotificationCreated is keyed by notification id, so two notifications may arrive in either order.
    assert.deepEqual(annsNotes.map((n) => n.subject).sort(), [
      `Order ${annsOrder.slice(0, 8)} confirmed`,
      `Order ${annsOrder.slice(0, 8)} shipped`,
    ]);
    assert.ok(annsNotes.every((n) => n.user.id === ann.userId && n.channel === 'IN_APP' && n.readAt === null));
    const bobsNotes = received(bobs);
    assert.deepEqual(
      bobsNotes.map((n) => n.subject),
      [`Order ${bobsOrder.slice(0, 8)} confirmed`],
    );
    assert.equal(bobsNotes[0]!.user.id, bob.userId);
    // What was pushed is what is stored.
    const stored = await service.db.notification.findMany({ where: { id: { in: annsNotes.map((n) => n.id) } } });
    assert.equal(stored.length, 2);
  }

  it('refuses anonymous callers, unsigned operations and unsigned connections', async () => {
    const anonymous = socket.subscribe(RECEIVED, {}, null);
    const unsigned = socket.subscribe(RECEIVED, {}, customer(), { extensions: {} });
    await Promise.all([anonymous.ended, unsigned.ended]);
    assert.equal(anonymous.results[0]?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal((unsigned.error as { extensions?: { code?: string } }[])[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.deepEqual(unsigned.results, []);

    const stranger = connectSubgraph(service, { connectionParams: {} });
    const refused = stranger.subscribe(RECEIVED, {}, customer());
    await refused.ended;
    assert.equal((refused.error as { code?: number }).code, 4403);
    await stranger.close();
  });

  it('leaves no open operation and no live-feed listener when clients come and go', async () => {
    const ann = customer();
    for (let i = 0; i < 100; i++) {
      const sub = socket.subscribe(RECEIVED, {}, ann);
      if (i % 10 === 0) await eventually(() => service.activeSubscriptions() >= 1, 20_000, 'subscribed');
      sub.unsubscribe();
    }
    await subscribed(0);
    await eventually(() => service.liveFeed!.listenerCount() === 0, 10_000, 'no live-feed listeners');
  });
});
