import { loadConfig, env } from '@storefront/platform/config';
import { serviceConfigSchema } from '@storefront/platform/service';
import { z } from 'zod';

export const notificationsConfigSchema = serviceConfigSchema.extend({
  NOTIFICATIONS_PORT: env.port(4004).describe('Port of the notifications service.'),
  /**
   * The SMTP server emails go through, e.g. smtp://user:pass@mail.example.com:587 or
   * smtps://… for implicit TLS. Absent: the email channel still runs end to end, but
   * the last step logs each message's notification id instead of sending it (the embedded default).
   */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL')
    .optional()
    .describe(
      'SMTP server emails go through (smtp://user:pass@host:587, or smtps:// for implicit TLS). Unset: emails are not sent; each is logged by its notification id (never its address or text) and can be read with notifications(channel: EMAIL).',
    ),
  EMAIL_FROM: z
    .string()
    .min(3)
    .default('Storefront <no-reply@storefront.localhost>')
    .describe('The From header of every email.'),
  EMAIL_MAX_ATTEMPTS: env
    .int(5, 1)
    .describe('Send attempts per email, the first included, before it is given up and dead-lettered.'),
  EMAIL_RETRY_BASE_MS: env.int(1_000, 1).describe('Wait before the first retry; doubles on each later one.'),
  /**
   * Longest wait before a retry. A retry waits in its consumer, holding up the retries
   * behind it on its partition, and Kafka takes a consumer that is silent for its session
   * timeout (15 s) for dead: keep this plus EMAIL_SEND_TIMEOUT_MS under that.
   */
  EMAIL_RETRY_MAX_MS: env
    .int(5_000, 1)
    .describe("Longest wait before a retry; keep it plus EMAIL_SEND_TIMEOUT_MS under Kafka's session timeout (15 s)."),
  EMAIL_SEND_TIMEOUT_MS: env
    .int(8_000, 100)
    .describe('Longest wait for each step of the SMTP conversation (connect, greeting, each reply).'),
});

export type NotificationsConfig = z.infer<typeof notificationsConfigSchema>;

export const loadNotificationsConfig = (
  source: Record<string, string | undefined> = process.env,
): NotificationsConfig => loadConfig(notificationsConfigSchema, source);
