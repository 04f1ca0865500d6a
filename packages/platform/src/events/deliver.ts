import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger/logger.ts';
import type { ConsumeOptions, DeliveredEvent } from './bus.ts';
import { createEvent, deadLetterTopic, type EventEnvelope } from './envelope.ts';

/**
 * The retry-then-dead-letter policy shared by both bus adapters, so they
 * cannot drift apart. Resolves when the event is handled or parked in the
 * DLQ; only a failing DLQ publish rejects (then the adapter redelivers).
 */
export async function deliverWithRetry(
  delivered: DeliveredEvent,
  options: ConsumeOptions,
  publish: (topic: string, events: EventEnvelope[]) => Promise<void>,
  logger: Logger,
  isStopping: () => boolean = () => false,
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 5;
  let delay = options.retryDelayMs ?? 100;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      await options.handler(delivered);
      return;
    } catch (error) {
      lastError = error;
      logger.warn(
        { err: error, eventId: delivered.event.id, type: delivered.event.type, topic: delivered.topic, attempt },
        'event handler failed',
      );
      if (attempt < maxAttempts && !isStopping()) {
        await sleep(delay);
        delay *= 2;
      }
      if (isStopping()) throw error; // leave it uncommitted; the next owner redelivers it
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  const letter = createEvent('event-bus', 'DeadLetter', delivered.event.aggregateId, {
    event: delivered.event,
    topic: delivered.topic,
    groupId: options.groupId,
    attempts: maxAttempts,
    error: reason,
  });
  await publish(deadLetterTopic(delivered.topic), [letter]);
  logger.error({ eventId: delivered.event.id, topic: delivered.topic, reason }, 'event sent to dead-letter topic');
}
