import { createEvent, type EventEnvelope } from '@storefront/platform/events';
import type { User } from '../data/client.ts';

/** Events of `user-events`. Consumers (notifications) keep their own copy of what they need. */
export interface UserSnapshot {
  userId: string;
  email: string;
  name: string;
  role: string;
  emailNotifications: boolean;
}

const snapshot = (user: User): UserSnapshot => ({
  userId: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
  emailNotifications: user.emailNotifications,
});

export const userRegistered = (user: User): EventEnvelope<UserSnapshot> =>
  createEvent('users', 'UserRegistered', user.id, snapshot(user));

export const userUpdated = (user: User): EventEnvelope<UserSnapshot> =>
  createEvent('users', 'UserUpdated', user.id, snapshot(user));

export const userDeactivated = (user: User): EventEnvelope<{ userId: string }> =>
  createEvent('users', 'UserDeactivated', user.id, { userId: user.id });

/** A session (refresh-token family) ended: log out or a replayed refresh token. The gateway stops its access tokens. */
export const sessionRevoked = (userId: string, sessionId: string): EventEnvelope<{ userId: string; sid: string }> =>
  createEvent('users', 'SessionRevoked', userId, { userId, sid: sessionId });
