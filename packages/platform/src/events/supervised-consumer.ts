import type { Logger } from '../logger/logger.ts';
import type { ConsumeOptions, ConsumerHandle, ConsumerState, EventBus } from './bus.ts';

/**
 * A consumer that is started again when the bus gives up on it.
 *
 * kafkajs restarts a consumer by itself after a retriable error, but not
 * after one it deems non-retriable: that consumer stops for good and its
 * events pile up unread while the process looks healthy. Here a consumer
 * the bus gave up on (`ConsumerHandle.failed`) is replaced by a new one in
 * the same group, after a backoff that grows while the replacements keep
 * failing; the group's committed offsets make the new one continue where
 * the old one ended (the event it failed on comes again). Until the new one
 * has joined, `state()` says `stopped`, which is what readiness reports.
 */
export interface SupervisedConsumer {
  readonly groupId: string;
  state(): ConsumerState;
  /** Stops the consumer (and any restart under way). */
  stop(): Promise<void>;
}

export interface RestartBackoff {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = { initialDelayMs: 500, maxDelayMs: 10_000 };

/** A consumer that stayed up this long before failing starts the backoff over. */
const STABLE_MS = 60_000;

/**
 * Starts a consumer and keeps it going. Rejects when the first start fails
 * (its caller decides whether to retry: see service/consumers.ts).
 */
export async function consumeSupervised(
  bus: EventBus,
  options: ConsumeOptions,
  logger: Logger,
  backoff: RestartBackoff = DEFAULT_RESTART_BACKOFF,
): Promise<SupervisedConsumer> {
  let current: ConsumerHandle | undefined = await bus.consume(options);
  let stopping = false;
  let wake = () => {};
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));

  const supervise = async () => {
    let delay = backoff.initialDelayMs;
    let since = Date.now();
    while (!stopping && current) {
      const error = await Promise.race([current.failed, stopped.then(() => undefined)]);
      if (stopping || !error) return;
      current = undefined;
      if (Date.now() - since >= STABLE_MS) delay = backoff.initialDelayMs;
      logger.error(
        { err: error, groupId: options.groupId, restartInMs: delay },
        'the event bus stopped this consumer; starting a new one in the same group',
      );
      for (let attempt = 1; !stopping && !current; attempt++) {
        await pause(delay);
        delay = Math.min(delay * 2, backoff.maxDelayMs);
        if (stopping) return;
        try {
          const handle = await bus.consume(options);
          // stop() may have come while it was joining: it found nothing to stop, so this one is stopped here.
          if (stopping) return void (await handle.stop().catch(() => {}));
          current = handle;
          since = Date.now();
          logger.info({ groupId: options.groupId, attempt }, 'consumer restarted');
        } catch (startError) {
          logger.error(
            { err: startError, groupId: options.groupId, attempt, restartInMs: delay },
            'consumer could not restart; retrying',
          );
        }
      }
    }
  };
  const supervising = supervise();

  return {
    groupId: options.groupId,
    state: () => (stopping ? 'stopped' : (current?.state() ?? 'stopped')),
    stop: async () => {
      stopping = true;
      stopRequested();
      wake();
      await supervising;
      await current?.stop();
    },
  };
}
