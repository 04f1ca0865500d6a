import type { ConsumeOptions, ConsumerState, EventBus } from '../events/bus.ts';
import { consumeSupervised, type RestartBackoff, type SupervisedConsumer } from '../events/supervised-consumer.ts';
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
 * until it does, or until the service stops. One the bus gives up on later
 * is started again (events/supervised-consumer.ts).
 */
export interface BackgroundConsumers {
  /** Settles once every consumer has joined its group (or the service stopped first). */
  running: Promise<void>;
  /** Each group's state (readiness): `joining` until its first start succeeds. */
  states(): Record<string, ConsumerState>;
  /** Waits for consumers still joining, then stops every consumer (each finishes its handler in flight and commits). */
  stop(): Promise<void>;
}

export function startConsumersInBackground(
  bus: EventBus,
  consumers: ConsumeOptions[],
  logger: Logger,
  retry: RestartBackoff = { initialDelayMs: 500, maxDelayMs: 10_000 },
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

  const supervised = new Map<string, SupervisedConsumer>();
  const startOne = async (options: ConsumeOptions): Promise<SupervisedConsumer | undefined> => {
    for (let attempt = 1, delay = retry.initialDelayMs; !stopping; attempt++) {
      try {
        const consumer = await consumeSupervised(bus, options, logger, retry);
        supervised.set(options.groupId, consumer);
        logger.info({ groupId: options.groupId, attempt }, 'consumer joined its group');
        return consumer;
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
    states: () =>
      Object.fromEntries(
        consumers.map(({ groupId }) => [
          groupId,
          supervised.get(groupId)?.state() ?? (stopping ? 'stopped' : 'joining'),
        ]),
      ),
    stop: async () => {
      stopping = true;
      for (const wake of sleepers) wake();
      const started = await handles;
      await Promise.allSettled(started.flatMap((handle) => (handle ? [handle.stop()] : [])));
    },
  };
}
