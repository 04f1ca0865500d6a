import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger/logger.ts';
import { createPushQueue, type Stream } from '../streams/index.ts';
import { traceConsumer } from '../telemetry/events.ts';
import { traceparentOf } from '../telemetry/propagation.ts';
import type { ServiceTracing } from '../telemetry/tracing.ts';
import type { ConsumerState, DeliveredEvent, EventBus } from './bus.ts';
import { consumeSupervised, type SupervisedConsumer } from './supervised-consumer.ts';

/**
 * The events a service instance pushes to its subscription clients.
 *
 * A service's ordinary consumers share one group, so each event reaches one
 * instance; a subscriber may be connected to any of them. The live feed
 * therefore reads with a group of its own per instance
 * (`<service>.live.<instance id>`), starting at the end, so every instance
 * sees every event however many run, and fans each event out in process to
 * the subscribers whose key and filter match. It only pushes; it never
 * writes, so it needs no idempotency and no retries.
 *
 * The group is deleted when the feed stops. An instance that crashes leaves
 * its group behind until the broker expires it (offsets.retention.minutes).
 */
export interface LiveFeedOptions {
  /** The service name; the group is `<service>.live.<instanceId>`. */
  service: string;
  topics: string[];
  bus: EventBus;
  logger: Logger;
  /** @default random */
  instanceId?: string;
  /**
   * Keys an event is also found by, besides its aggregate id (e.g.
   * `user:<id>` for "my orders"), so subscribers by such a key are found
   * without running every subscriber's filter on every event.
   */
  indexBy?: (delivered: DeliveredEvent) => string[];
  /**
   * Events a subscriber may have waiting (a slow client) before its stream
   * fails with LiveFeedOverflowError; clients that can resume then do.
   * @default 1000
   */
  maxBuffered?: number;
  /** A CONSUMER span per event fanned out; subscribers' pushes continue it (service/subscriptions.ts). */
  tracing?: ServiceTracing;
}

export interface LiveSubscribeOptions {
  topic: string;
  /** Only events with this aggregate id (the bus key) or `indexBy` key; indexed, so cheap with many subscribers. */
  key?: string;
  /** Further filter; runs for every event of the topic (and key). */
  filter?: (delivered: DeliveredEvent) => boolean;
}

export class LiveFeedOverflowError extends Error {
  constructor(limit: number) {
    super(`Subscriber fell more than ${limit} events behind`);
    this.name = 'LiveFeedOverflowError';
  }
}

interface Listener {
  filter?: (delivered: DeliveredEvent) => boolean;
  push(delivered: DeliveredEvent): void;
  end(): void;
}

export class LiveFeed {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** `${topic}\0${key}` → listeners for one aggregate; `${topic}` → listeners for the whole topic. */
  private readonly listeners = new Map<string, Set<Listener>>();
  private count = 0;
  private consumer: SupervisedConsumer | undefined;
  private stopped = false;

  constructor(private readonly options: LiveFeedOptions) {
    this.groupId = `${options.service}.live.${options.instanceId ?? randomBytes(6).toString('hex')}`;
    this.topics = [...options.topics];
  }

  /** Joins the bus; every event published after this resolves reaches the feed. */
  async start(): Promise<void> {
    if (this.consumer || this.stopped) return;
    await this.options.bus.ensureTopics(this.options.topics);
    // Started again in the same group if the bus gives up on it: the events it missed meanwhile come after all.
    this.consumer = await consumeSupervised(
      this.options.bus,
      {
        groupId: this.groupId,
        topics: this.options.topics,
        fromBeginning: false,
        ephemeral: true,
        maxAttempts: 1,
        handler: this.options.tracing
          ? traceConsumer(this.options.tracing, this.options.bus.kind, this.groupId, async (delivered) =>
              // Subscribers' pushes are children of this delivery's span.
              this.dispatch({ ...delivered, traceparent: traceparentOf() ?? delivered.traceparent }),
            )
          : async (delivered) => this.dispatch(delivered),
      },
      this.options.logger,
    );
    this.options.logger.debug({ groupId: this.groupId, topics: this.topics }, 'live feed started');
  }

  /** For readiness: `joining` until started. */
  state(): ConsumerState {
    return this.consumer?.state() ?? (this.stopped ? 'stopped' : 'joining');
  }

  /**
   * The matching events from now on. Subscribe before reading any history
   * the client also needs, so nothing falls between the two. `return()`
   * unsubscribes at once.
   */
  subscribe(options: LiveSubscribeOptions): Stream<DeliveredEvent> {
    if (!this.topics.includes(options.topic)) throw new Error(`The live feed does not read "${options.topic}"`);
    const slot = options.key === undefined ? options.topic : `${options.topic}\0${options.key}`;
    const limit = this.options.maxBuffered ?? 1000;

    const detach = () => {
      const set = this.listeners.get(slot);
      if (set?.delete(listener)) {
        this.count--;
        if (set.size === 0) this.listeners.delete(slot);
      }
    };
    const queue = createPushQueue<DeliveredEvent>({ capacity: limit, onReturn: detach });
    const listener: Listener = {
      filter: options.filter,
      push: (delivered) => {
        if (queue.push(delivered)) return;
        this.options.logger.warn(
          { groupId: this.groupId, topic: options.topic, key: options.key, limit },
          'dropping a subscriber that fell behind',
        );
        detach();
        queue.fail(new LiveFeedOverflowError(limit));
      },
      // The feed stopped: what is buffered goes too, and a waiting reader is done at once.
      end: () => {
        detach();
        queue.clear();
        queue.end();
      },
    };

    if (this.stopped) queue.end();
    else {
      const set = this.listeners.get(slot) ?? new Set<Listener>();
      set.add(listener);
      this.listeners.set(slot, set);
      this.count++;
    }
    return queue;
  }

  /** Subscribers currently attached (tests and metrics: must return to 0 when clients leave). */
  listenerCount(): number {
    return this.count;
  }

  /** Leaves the bus (deleting the group) and ends every subscriber's stream. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer?.stop();
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) listener.end();
  }

  private dispatch(delivered: DeliveredEvent): void {
    const { topic, event } = delivered;
    const keys = new Set([event.aggregateId]);
    try {
      for (const key of this.options.indexBy?.(delivered) ?? []) keys.add(key);
    } catch (error) {
      this.options.logger.error({ err: error, eventId: event.id, topic }, 'live feed could not index an event');
    }
    for (const slot of [...[...keys].map((key) => `${topic}\0${key}`), topic]) {
      const set = this.listeners.get(slot);
      if (!set) continue;
      for (const listener of [...set]) {
        try {
          if (!listener.filter || listener.filter(delivered)) listener.push(delivered);
        } catch (error) {
          this.options.logger.error({ err: error, eventId: event.id, topic }, 'live feed filter failed');
        }
      }
    }
  }
}
