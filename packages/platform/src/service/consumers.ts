import type { ConsumeOptions, ConsumerHandle, EventBus } from '../events/bus.ts';
import type { Logger } from '../logger/logger.ts';

/**
 * A service's event consumers, joining their groups in the background.
 *
 * A service serves HTTP without them, and joining a Kafka consumer group can
 * take long: after a crash, the group waits for the dead member's session to
 * expire before it rebalances (kafkajs 2.2.4 has no static membership, which
 * would let the restarted process take its predecessor's place at once). A
 * service that waited for its groups would stay closed that long after every
 * crash. Events wait in their topics meanwhile; groups that never committed
 * start from the beginning, so nothing is skipped.
 *
 * A consumer that cannot start (the broker is down) is retried with backoff
 * until it does, or until the service stops.
 */
export interface BackgroundConsumers {
  /** Settles once every consumer has joined its group (or the service stopped first). */
  running: Promise<void>;
  /** Waits for consumers still joining, then stops every consumer (each finishes its handler in flight and commits). */
  stop(): Promise<void>;
}

export function startConsumersInBackground(
  bus: EventBus,
  consumers: ConsumeOptions[],
  logger: Logger,
  retry: { initialDelayMs: number; maxDelayMs: number } = { initialDelayMs: 500, maxDelayMs: 10_000 },
): BackgroundConsumers {
  let stopping = false;
  const sleepers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const startOne = async (options: ConsumeOptions): Promise<ConsumerHandle | undefined> => {
    for (let attempt = 1, delay = retry.initialDelayMs; !stopping; attempt++) {
      try {
        const handle = await bus.consume(options);
        logger.info({ groupId: options.groupId, attempt }, 'consumer joined its group');
        return handle;
      } catch (error) {
        if (stopping) return undefined;
        logger.error({ err: error, groupId: options.groupId, attempt }, 'consumer could not start; retrying');
        await pause(delay);
        delay = Math.min(delay * 2, retry.maxDelayMs);
      }
    }
    return undefined;
  };

  const handles = Promise.all(consumers.map(startOne));
  return {
    running: handles.then(() => undefined),
    stop: async () => {
      stopping = true;
      for (const wake of sleepers) wake();
      const started = await handles;
      await Promise.allSettled(started.flatMap((handle) => (handle ? [handle.stop()] : [])));
    },
  };
}
