import { SpanKind, trace, type Span } from '@opentelemetry/api';
import type { DeliveredEvent, EventHandler } from '../events/bus.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import { contextOf, traceparentOf } from './propagation.ts';
import { failSpan, inSpan, type ServiceTracing } from './tracing.ts';

/**
 * Traces across the event bus. The envelope's `traceparent` is set by
 * `createEvent` from the span active where the event was made (the request,
 * or the consumer of the event that caused it) and stored with the outbox
 * row. The relay publishes each event under that context (a PRODUCER span,
 * whose context the message carries, in the Kafka `traceparent` header and
 * the envelope), and every consumer continues it (a CONSUMER span around
 * its handler). So one trace runs from the client's request through the
 * outbox, Kafka and every saga step to the subscription push.
 */

/** For the relay: PRODUCER spans for `events` (those with trace context), and the events re-stamped with them. */
export function startPublishSpans(
  tracing: ServiceTracing,
  system: string,
  topic: string,
  events: EventEnvelope[],
): { events: EventEnvelope[]; end(error?: unknown): void } {
  if (!tracing.enabled) return { events, end: () => {} };
  const spans: Span[] = [];
  const stamped = events.map((event) => {
    const parent = contextOf(event.traceparent);
    // An event made outside any trace (seeding, a background job) starts none here either.
    if (!parent) return event;
    const span = tracing.tracer.startSpan(
      `publish ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'publish',
          'messaging.destination.name': topic,
          'messaging.message.id': event.id,
          'messaging.kafka.message.key': event.aggregateId,
          'storefront.event.type': event.type,
        },
      },
      parent,
    );
    spans.push(span);
    const traceparent = traceparentOf(trace.setSpan(parent, span));
    return traceparent ? { ...event, traceparent } : event;
  });
  return {
    events: stamped,
    end: (error) => {
      for (const span of spans) {
        if (error !== undefined) failSpan(span, error);
        span.end();
      }
    },
  };
}

/** Wraps a consumer's handler: each delivery (each attempt) in a CONSUMER span continuing the event's trace. */
export function traceConsumer(
  tracing: ServiceTracing,
  system: string,
  groupId: string,
  handler: EventHandler,
): EventHandler {
  if (!tracing.enabled) return handler;
  return (delivered) => {
    const parent = contextOf(traceOf(delivered));
    if (!parent) return handler(delivered);
    return inSpan(
      tracing,
      `process ${delivered.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'process',
          'messaging.destination.name': delivered.topic,
          'messaging.consumer.group.name': groupId,
          'messaging.destination.partition.id': String(delivered.partition),
          'messaging.kafka.offset': Number(delivered.offset),
          'messaging.message.id': delivered.event.id,
          'storefront.event.type': delivered.event.type,
        },
      },
      () => handler(delivered),
      parent,
    );
  };
}

/** Where a delivered event's trace continues: the message header (Kafka), else the envelope. */
export const traceOf = (delivered: DeliveredEvent): string | undefined =>
  delivered.traceparent ?? delivered.event.traceparent;
