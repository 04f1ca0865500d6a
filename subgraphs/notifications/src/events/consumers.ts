import type { ConsumeOptions } from '@storefront/platform/events/bus';
import { TOPICS, type EventEnvelope } from '@storefront/platform/events/envelope';
import type { ServiceRuntime } from '@storefront/platform/server/service';
import type { NotificationsDb, NotificationsTx } from '../data/client.ts';
import { notifyOrderUpdate, rememberPlacedOrder } from '../order-updates.ts';
import { deactivateRecipient, saveRecipient } from '../recipients.ts';
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
 * What notifications listens to. One consumer for both topics: the group id is
 * the service name, and kafkajs's assigner ignores which topics each member of
 * a group subscribed to, so two consumers in one group would each drop the
 * other's partitions. Event types not handled here are skipped without
 * touching the database.
 */
export function notificationConsumers(runtime: Runtime): Omit<ConsumeOptions, 'groupId'>[] {
  return [
    {
      topics: [TOPICS.userEvents, TOPICS.orderEvents],
      handler: ({ topic, event }) => (topic === TOPICS.userEvents ? onUserEvent(runtime, event) : onOrderEvent(runtime, event)),
    },
  ];
}

async function onUserEvent(runtime: Runtime, event: EventEnvelope): Promise<void> {
  switch (event.type) {
    case 'UserRegistered':
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
