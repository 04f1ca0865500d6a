import { isAuthenticated, isPublic, ownerOrStaff } from '@storefront/platform/service';
import type { IRules } from 'graphql-shield';
import type { Notification, UserReference } from './data/client.ts';

/**
 * Who may read and do what in the notifications service. Anything not listed
 * is denied. Notification's rule covers every field, so one fetched through
 * `_entities` is as protected as one fetched through `notification(id)`.
 */
export const permissions: IRules = {
  Query: {
    notification: isAuthenticated,
    _service: isPublic,
    _entities: isPublic,
  },
  Mutation: {
    markNotificationRead: isAuthenticated,
  },
  // The caller's own notifications only; each pushed one is guarded by Notification's rule.
  Subscription: {
    notificationReceived: isAuthenticated,
  },
  User: {
    id: isPublic,
    notifications: ownerOrStaff<UserReference>('notifications:userOwner', (user) => user.id),
  },
  Notification: ownerOrStaff<Notification>('notifications:notificationOwner', (notification) => notification.userId),
  NotificationConnection: isPublic,
  NotificationEdge: isPublic,
  PageInfo: isPublic,
  _Service: isPublic,
};
