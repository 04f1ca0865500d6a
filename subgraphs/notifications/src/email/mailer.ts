import nodemailer from 'nodemailer';
import type { Logger } from '@storefront/platform/logger';
import type { NotificationsConfig } from '../config.ts';

/** One email as the channel hands it over: plain text (templates render text only). */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  /** The notification's id: the same Message-ID on every attempt lets receivers drop a duplicate. */
  notificationId: string;
}

/**
 * `sent`: an SMTP server accepted it. `logged`: email is disabled and the
 * message went to the log instead. A failure is thrown, as nodemailer's
 * error (with `responseCode` and `permanent` when the server answered).
 */
export type SendResult = { kind: 'sent'; response: string } | { kind: 'logged' };

export interface Mailer {
  send(email: OutgoingEmail): Promise<SendResult>;
}

/**
 * The mailer for this configuration, announced with one log line. A
 * connection per message rather than a pool: mail volume here is a few
 * messages per order, and a fresh connection cannot inherit a broken one.
 */
export function createMailer(config: NotificationsConfig, logger: Logger): Mailer {
  const messageIdDomain = domainOf(config.EMAIL_FROM);
  if (!config.SMTP_URL) {
    logger.warn(
      'email channel: SMTP_URL is not set, so emails are not sent; each is logged by its notification id, and read with notifications(channel: EMAIL)',
    );
    return {
      send: async (email) => {
        // Never the address, subject or text: they hold the customer's email and name (logs hold no personal data).
        logger.info({ notificationId: email.notificationId }, 'email not sent (SMTP_URL unset)');
        return { kind: 'logged' };
      },
    };
  }
  logger.info({ smtp: redactUrl(config.SMTP_URL), from: config.EMAIL_FROM }, 'email channel: sending over SMTP');
  const transport = nodemailer.createTransport(
    {
      url: config.SMTP_URL,
      // nodemailer's defaults (2 min to connect, 10 min of silence) would hold a consumer far past Kafka's session timeout.
      connectionTimeout: config.EMAIL_SEND_TIMEOUT_MS,
      greetingTimeout: config.EMAIL_SEND_TIMEOUT_MS,
      socketTimeout: config.EMAIL_SEND_TIMEOUT_MS,
      dnsTimeout: config.EMAIL_SEND_TIMEOUT_MS,
    },
    { from: config.EMAIL_FROM },
  );
  return {
    send: async (email) => {
      const info = await transport.sendMail({
        to: email.to,
        subject: email.subject,
        text: email.text,
        messageId: `<${email.notificationId}@${messageIdDomain}>`,
      });
      return { kind: 'sent', response: info.response };
    },
  };
}

const domainOf = (from: string): string => /@([^\s>]+)>?\s*$/.exec(from)?.[1] ?? 'storefront.localhost';

/** The URL without its password, for the log. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable SMTP_URL)';
  }
}
