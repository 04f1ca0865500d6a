import { type EventBus, KafkaEventBus } from '@storefront/platform/events';
import type { Logger } from '@storefront/platform/logger';
import { FallbackStore, openStore, type KeyValueStore } from '@storefront/platform/store';
import type { BackendsConfig } from './config.ts';

export { backendsEnv, type BackendsConfig } from './config.ts';

/**
 * What the gateway's rooms share: one store (Redis with REDIS_URL, else in
 * process) for rate limits, revocations and caches, and the event bus
 * (Kafka with KAFKA_BROKERS, else the in-process bus of the embedded
 * default, when given) on which revocations and catalog changes arrive.
 */
export interface Backends {
  store: KeyValueStore;
  /** Undefined when there is no bus at all: features that follow events then say so at start. */
  bus: EventBus | undefined;
  /** Where shared state goes now (the gateway's /readyz). */
  storeState: () => StoreState;
  /** Closes what was opened here (a bus that was given is its owner's to close). */
  close: () => Promise<void>;
}

export type StoreState = 'connected' | 'unreachable (in-memory fallback)' | 'not configured (in-memory fallback)';

export function openBackends(options: { config: BackendsConfig; logger: Logger; bus?: EventBus }): Backends {
  const { config, logger } = options;
  const store = openStore({ redisUrl: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX }, logger);
  const ownBus =
    !options.bus && config.KAFKA_BROKERS
      ? new KafkaEventBus(
          {
            brokers: config.KAFKA_BROKERS,
            clientId: 'gateway',
            prefix: config.KAFKA_TOPIC_PREFIX,
            createTopics: config.KAFKA_CREATE_TOPICS,
          },
          logger.child({ component: 'kafka' }),
        )
      : undefined;
  return {
    store,
    bus: options.bus ?? ownBus,
    storeState: () =>
      !(store instanceof FallbackStore)
        ? 'not configured (in-memory fallback)'
        : store.usingFallback
          ? 'unreachable (in-memory fallback)'
          : 'connected',
    close: async () => {
      await ownBus?.close();
      await store.close();
    },
  };
}
