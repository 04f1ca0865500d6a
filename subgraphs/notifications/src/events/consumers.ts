import { TOPICS, type EventEnvelope } from '@storefront/platform/events';
import type { ServiceRuntime } from '@storefront/platform/service';
import type { NotificationsConfig } from '../config.ts';
import type { NotificationsDb, NotificationsTx } from '../data/client.ts';
import { emailConsumers, type ConsumerDefinition } from '../email/consumers.ts';
import { notifyOrderUpdate, rememberPlacedOrder } from '../order-updates.ts';
import { deactivateRecipient, saveRecipient, welcomeRecipient } from '../recipients.ts';
import {
  orderPlacedSchema,
  orderStatusChangedSchema,
  readEvent,
  userDeactivatedSchema,
  userSnapshotSchema,
  type OrderStatusChanged,
} from './incoming.ts';

type Runtime = ServiceRuntime<NotificationsDb, NotificationsTx>;

/** The order events that reach the customer, and the status each one announces. */
const ANNOUNCED = new Map<string, OrderStatusChanged['status']>([
  ['OrderConfirmed', 'CONFIRMED'],
  ['OrderPaid', 'PAID'],
  ['OrderShipped', 'SHIPPED'],
  ['OrderDelivered', 'DELIVERED'],
  ['OrderCancelled', 'CANCELLED'],
  ['OrderRejected', 'REJECTED'],
]);

/**
 * What notifications listens to. One consumer for user and order events: the
 * group id is the service name, and kafkajs's assigner ignores which topics
 * each member of a group subscribed to, so two consumers in one group would
 * each drop the other's partitions. Event types not handled here are skipped
 * without touching the database. The email channel's consumers are groups
 * of their own, so a slow SMTP server never holds up in-app notifications.
 */
export function notificationConsumers(runtime: Runtime, config: NotificationsConfig): ConsumerDefinition[] {
  return [
    {
      topics: [TOPICS.userEvents, TOPICS.orderEvents],
      handler: ({ topic, event }) =>
        topic === TOPICS.userEvents ? onUserEvent(runtime, event) : onOrderEvent(runtime, event),
    },
    ...emailConsumers(runtime, config),
  ];
}

async function onUserEvent(runtime: Runtime, event: EventEnvelope): Promise<void> {
  switch (event.type) {
    case 'UserRegistered': {
      const user = readEvent(event, userSnapshotSchema);
      await runtime.processOnce(event, async (tx, emit) => {
        await saveRecipient(tx, user);
        await welcomeRecipient(tx, emit, event, user);
      });
      return;
    }
    case 'UserUpdated': {
      const user = readEvent(event, userSnapshotSchema);
      await runtime.processOnce(event, (tx) => saveRecipient(tx, user));
      return;
    }
    case 'UserDeactivated': {
      const { userId } = readEvent(event, userDeactivatedSchema);
      await runtime.processOnce(event, (tx) => deactivateRecipient(tx, userId, new Date(event.occurredAt)));
      return;
    }
  }
}

async function onOrderEvent(runtime: Runtime, event: EventEnvelope): Promise<void> {
  if (event.type === 'OrderPlaced') {
    const order = readEvent(event, orderPlacedSchema);
    await runtime.processOnce(event, (tx) => rememberPlacedOrder(tx, order));
    return;
  }
  const status = ANNOUNCED.get(event.type);
  if (!status) return;
  const change = readEvent(event, orderStatusChangedSchema);
  if (change.status !== status) throw new Error(`${event.type} ${event.id} carries status ${change.status}`);
  await runtime.processOnce(event, (tx, emit) => notifyOrderUpdate(tx, emit, event, change));
}
