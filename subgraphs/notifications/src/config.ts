import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import { z } from 'zod';

export const notificationsConfigSchema = serviceConfigSchema.extend({
  NOTIFICATIONS_PORT: env.port(4004),
  /**
   * The SMTP server emails go through, e.g. smtp://user:pass@mail.example.com:587 or
   * smtps://… for implicit TLS. Absent: the email channel still runs end to end, but
   * the last step writes each message to the log instead of sending it (the embedded default).
   */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  /** The From header of every email. */
  EMAIL_FROM: z.string().min(3).default('Storefront <no-reply@storefront.localhost>'),
  /** Send attempts per email, the first included, before it is given up and dead-lettered. */
  EMAIL_MAX_ATTEMPTS: env.int(5, 1),
  /** Wait before the first retry; doubles on each later one. */
  EMAIL_RETRY_BASE_MS: env.int(1_000, 1),
  /**
   * Longest wait before a retry. A retry waits in its consumer, holding up the retries
   * behind it on its partition, and Kafka takes a consumer that is silent for its session
   * timeout (15 s) for dead: keep this plus EMAIL_SEND_TIMEOUT_MS under that.
   */
  EMAIL_RETRY_MAX_MS: env.int(5_000, 1),
  /** Longest wait for each step of the SMTP conversation (connect, greeting, each reply). */
  EMAIL_SEND_TIMEOUT_MS: env.int(8_000, 100),
});

export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;

export const loadNotificationsConfig = (
  source: Record<string, string | undefined> = process.env,
): NotificationsConfig => loadConfig(notificationsConfigSchema, source);
