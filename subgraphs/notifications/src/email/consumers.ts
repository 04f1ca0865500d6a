import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveredEvent } from '@storefront/platform/events';
import type { ServiceParts, ServiceRuntime, BaseContext } from '@storefront/platform/service';
import type { NotificationsConfig } from '../config.ts';
import type { NotificationsDb, NotificationsTx } from '../data/client.ts';
import { readEvent } from '../events/incoming.ts';
import { EMAIL_REQUEST_TOPIC, EMAIL_REQUESTED, EMAIL_RETRY_TOPIC, emailRequestedSchema } from './events.ts';
import { createMailer } from './mailer.ts';
import type { RetryPolicy } from './policy.ts';
import { createEmailSender, type AttemptEmail } from './sender.ts';

type Runtime = ServiceRuntime<NotificationsDb, NotificationsTx>;
export type ConsumerDefinition = NonNullable<ServiceParts<BaseContext>['consumers']>[number];

/**
 * The email channel's two consumers, each its own group (the platform names
 * them `<service>.email` and `<service>.email-retry`): first attempts from
 * `notification-events` and retries from `notification-events.retry`. A
 * retry waits in its consumer until its time, so it holds up only other
 * retries behind it on its partition, for at most EMAIL_RETRY_MAX_MS, never
 * a first attempt nor the consumer that turns events into notifications.
 */
export function emailConsumers(runtime: Runtime, config: NotificationsConfig): ConsumerDefinition[] {
  const policy: RetryPolicy = {
    maxAttempts: config.EMAIL_MAX_ATTEMPTS,
    baseDelayMs: config.EMAIL_RETRY_BASE_MS,
    maxDelayMs: config.EMAIL_RETRY_MAX_MS,
  };
  const attemptEmail = createEmailSender(
    runtime,
    createMailer(config, runtime.logger.child({ component: 'email' })),
    policy,
  );
  return [
    { name: 'email', topics: [EMAIL_REQUEST_TOPIC], handler: attemptFor(attemptEmail, `${runtime.name}.email`, 0) },
    {
      name: 'email-retry',
      topics: [EMAIL_RETRY_TOPIC],
      handler: attemptFor(attemptEmail, `${runtime.name}.email-retry`, policy.maxDelayMs),
    },
  ];
}

/** A handler for EmailRequested events (other events on the topic are not this channel's business). */
function attemptFor(attemptEmail: AttemptEmail, groupId: string, maxWaitMs: number) {
  return async ({ topic, event }: DeliveredEvent): Promise<void> => {
    if (event.type !== EMAIL_REQUESTED) return;
    const request = readEvent(event, emailRequestedSchema);
    if (request.notBefore && maxWaitMs > 0) {
      // Capped: another instance's clock, or a forged time, must not park the partition.
      const wait = Math.min(Date.parse(request.notBefore) - Date.now(), maxWaitMs);
      if (wait > 0) await sleep(wait);
    }
    await attemptEmail(event, request, { topic, groupId });
  };
}
