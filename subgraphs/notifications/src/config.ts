import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/server/service-config';
import type { z } from 'zod';

export const notificationsConfigSchema = serviceConfigSchema.extend({
  NOTIFICATIONS_PORT: env.port(4004),
});

export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;

export const loadNotificationsConfig = (source: Record<string, string | undefined> = process.env): NotificationsConfig =>
  loadConfig(notificationsConfigSchema, source);
