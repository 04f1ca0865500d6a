/**
 * Events between services: the envelope and topics, the bus (Kafka, or the
 * in-process bus with the same delivery), the outbox that publishes what a
 * transaction wrote, idempotent consumers, and the live feed that pushes
 * events to subscription clients.
 */
export type {
  ConsumeOptions,
  ConsumerHandle,
  ConsumerState,
  DeadLetter,
  DeliveredEvent,
  EventBus,
  EventHandler,
} from './bus.ts';
export { consumeSupervised, type SupervisedConsumer } from './supervised-consumer.ts';
export { TOPICS, createEvent, deadLetterTopic, isEventEnvelope, type EventEnvelope } from './envelope.ts';
export { KafkaEventBus, type KafkaBusOptions } from './kafka-bus.ts';
export { MemoryEventBus } from './memory-bus.ts';
export { OutboxRelay, enqueueEvents, type OutboxEntry, type OutboxRelayOptions } from './outbox.ts';
export { markProcessed } from './idempotent.ts';
export { LiveFeed, LiveFeedOverflowError, type LiveFeedOptions, type LiveSubscribeOptions } from './live-feed.ts';
