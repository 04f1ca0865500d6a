import type { EventEnvelope } from '@storefront/platform/events';
import { Counter } from '@storefront/platform/metrics';
import type { Emit, ServiceRuntime } from '@storefront/platform/service';
import type { Notification, NotificationsDb, NotificationsTx } from '../data/client.ts';
import {
  EMAIL_DEAD_LETTER_TOPIC,
  EMAIL_RETRY_TOPIC,
  emailDeadLetter,
  emailRequested,
  type EmailRequestedData,
} from './events.ts';
import type { Mailer } from './mailer.ts';
import { describeSendFailure, retryDelayMs, type RetryPolicy } from './policy.ts';
import { whyNotEmail } from './request.ts';

/** What a sender needs of the service runtime. */
export type SenderRuntime = Pick<
  ServiceRuntime<NotificationsDb, NotificationsTx>,
  'name' | 'db' | 'logger' | 'processOnce' | 'metrics'
>;

/** Where an attempt's request was read from, for its dead letter. */
export interface AttemptSource {
  topic: string;
  groupId: string;
}

/** How one attempt ended, before it is written down. */
type Outcome =
  | { kind: 'sent'; address: string }
  | { kind: 'logged'; address: string }
  | { kind: 'failed'; reason: string; permanent: boolean }
  | { kind: 'skipped'; reason: string }
  /** Claimed earlier and never recorded: the process stopped somewhere around the SMTP conversation. */
  | { kind: 'interrupted' };

export const INTERRUPTED_REASON =
  'interrupted while sending (the sender stopped before recording the outcome): whether it arrived is unknown, so it is not sent again';

/**
 * One send attempt of one EMAIL notification, for an EmailRequested event.
 *
 * At most one SMTP conversation per attempt, however often the event is
 * delivered: an attempt first claims the row with one conditional UPDATE
 * (PENDING with exactly `attempt - 1` attempts behind it → SENDING, attempts
 * + 1, claimedBy = this event), talks to the SMTP server outside any
 * transaction (a transaction held open across it would hold a connection
 * and could roll back after the mail went out), then records the outcome,
 * the event's processed mark and the follow-up event (retry or dead letter,
 * through the outbox) in one transaction. A copy of an attempt that was
 * already decided finds the event marked processed or the row in another
 * state, and does nothing.
 *
 * The crash window: between the claim and the recording, the SMTP server
 * may or may not have accepted the message, and after a crash nothing can
 * tell which. The redelivered event then finds the row SENDING and claimed
 * by itself; this is recorded as FAILED and dead-lettered with
 * INTERRUPTED_REASON rather than tried again. That favours "never twice"
 * over "always": the one case where a mail may be missing is visible on the
 * DLQ for an operator to re-drive, never silently resent. (When the process
 * lives on and only the recording failed, e.g. a database blip, the outcome
 * is remembered in memory and recorded truthfully on the handler's retry.)
 */
export function createEmailSender(runtime: SenderRuntime, mailer: Mailer, policy: RetryPolicy) {
  const logger = runtime.logger.child({ component: 'email' });
  const unrecorded = new Map<string, Outcome>();
  // Counted where the SMTP conversation ends (or is found cut off), once per attempt however often it is recorded.
  const attempts = new Counter({
    name: 'emails_total',
    help: 'Email send attempts by outcome: sent, failed (refused or unreachable SMTP server; retried or dead-lettered), logged (SMTP_URL unset), interrupted (the sender stopped mid-send).',
    labelNames: ['outcome'] as const,
    registers: [runtime.metrics],
  });

  return async function attemptEmail(
    event: EventEnvelope,
    request: EmailRequestedData,
    source: AttemptSource,
  ): Promise<void> {
    if (await wasProcessed(runtime, event.id)) return;
    const notification = await runtime.db.notification.findUnique({ where: { id: request.notificationId } });
    if (!notification || notification.channel !== 'EMAIL') {
      logger.warn(
        { eventId: event.id, notificationId: request.notificationId },
        'EmailRequested for no email notification; ignored',
      );
      await runtime.processOnce(event, async () => {});
      return;
    }
    if (notification.status === 'SENDING' && notification.claimedBy === event.id) {
      // This very event claimed it before, and its outcome was never written down.
      if (!unrecorded.has(event.id)) attempts.inc({ outcome: 'interrupted' });
      await record(event, notification, request, unrecorded.get(event.id) ?? { kind: 'interrupted' }, source);
      unrecorded.delete(event.id);
      return;
    }
    if (notification.status !== 'PENDING' || notification.attempts !== request.attempt - 1) {
      // A copy of an attempt already decided, or a request other than the one being sent now: nothing to do but remember it.
      await runtime.processOnce(event, async () => {});
      return;
    }

    // The recipient's latest wishes, as user-events left them, win over those when the email was requested.
    const recipient = await runtime.db.recipient.findUnique({ where: { userId: notification.userId } });
    const unwanted = whyNotEmail(recipient);
    if (unwanted || !recipient) {
      await record(
        event,
        notification,
        request,
        { kind: 'skipped', reason: `not sent: recipient ${unwanted}` },
        source,
      );
      return;
    }

    const claim = await runtime.db.notification.updateMany({
      where: { id: notification.id, status: 'PENDING', attempts: request.attempt - 1 },
      data: { status: 'SENDING', attempts: { increment: 1 }, claimedBy: event.id, lastAttemptAt: new Date() },
    });
    // Another delivery of this event claimed it a moment ago; that one sends and records.
    if (claim.count === 0) return;

    let outcome: Outcome;
    try {
      const result = await mailer.send({
        to: recipient.email,
        subject: notification.subject,
        text: notification.body,
        notificationId: notification.id,
      });
      outcome = { kind: result.kind, address: recipient.email };
    } catch (error) {
      outcome = { kind: 'failed', ...describeSendFailure(error) };
    }
    attempts.inc({ outcome: outcome.kind });
    unrecorded.set(event.id, outcome);
    await record(event, notification, request, outcome, source);
    unrecorded.delete(event.id);
  };

  /** Writes the outcome, marks the event processed and emits what follows, all in one transaction. */
  async function record(
    event: EventEnvelope,
    notification: Notification,
    request: EmailRequestedData,
    outcome: Outcome,
    source: AttemptSource,
  ) {
    await runtime.processOnce(event, async (tx, emit) => {
      const attempt = request.attempt;
      // Only the state this attempt left (or found, for a skip) may be overwritten.
      const mine =
        outcome.kind === 'skipped'
          ? { id: notification.id, status: 'PENDING' as const, attempts: attempt - 1 }
          : { id: notification.id, status: 'SENDING' as const, claimedBy: event.id };
      const update = (data: Parameters<NotificationsTx['notification']['updateMany']>[0]['data']) =>
        tx.notification.updateMany({ where: mine, data }).then((r) => r.count === 1);

      switch (outcome.kind) {
        case 'sent':
          if (await update({ status: 'SENT', sentAt: new Date(), address: outcome.address, lastError: null })) {
            logger.info({ notificationId: notification.id, attempt }, 'email sent');
          }
          return;
        case 'logged':
          await update({
            status: 'SKIPPED',
            address: outcome.address,
            lastError: 'email is disabled (SMTP_URL unset): written to the log instead',
          });
          return;
        case 'skipped':
          await update({ status: 'SKIPPED', lastError: outcome.reason });
          return;
        case 'interrupted':
          if (await update({ status: 'FAILED', lastError: INTERRUPTED_REASON })) {
            await giveUp(emit, event, notification, attempt, INTERRUPTED_REASON, source);
          }
          return;
        case 'failed': {
          const last = outcome.permanent || attempt >= policy.maxAttempts;
          if (last) {
            if (await update({ status: 'FAILED', lastError: outcome.reason })) {
              await giveUp(emit, event, notification, attempt, outcome.reason, source);
            }
            return;
          }
          if (await update({ status: 'PENDING', lastError: outcome.reason })) {
            const notBefore = new Date(Date.now() + retryDelayMs(policy, attempt));
            logger.warn(
              { notificationId: notification.id, attempt, reason: outcome.reason, notBefore },
              'email failed; will retry',
            );
            await emit(EMAIL_RETRY_TOPIC, emailRequested(notification, attempt + 1, { notBefore, cause: event }));
          }
          return;
        }
      }
    });
  }

  async function giveUp(
    emit: Emit,
    event: EventEnvelope,
    notification: Notification,
    attempts: number,
    error: string,
    source: AttemptSource,
  ) {
    logger.error(
      { notificationId: notification.id, attempts, reason: error },
      'email given up; sent to the dead-letter topic',
    );
    await emit(
      EMAIL_DEAD_LETTER_TOPIC,
      emailDeadLetter({ event, topic: source.topic, groupId: source.groupId, attempts, error }),
    );
  }
}

export type AttemptEmail = ReturnType<typeof createEmailSender>;

/** A cheap look before any work: most copies of an event arrive after it was handled. */
async function wasProcessed(runtime: SenderRuntime, eventId: string): Promise<boolean> {
  const rows = await runtime.db.$queryRaw<{ found: number }[]>`
    SELECT 1 AS found FROM processed_events WHERE consumer = ${runtime.name} AND event_id = ${eventId}`;
  return rows.length > 0;
}
