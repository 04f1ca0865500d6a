import { randomUUID } from 'node:crypto';
import { consumeSupervised, type ConsumerState, type EventBus, TOPICS } from '@storefront/platform/events';
import type { Logger } from '@storefront/platform/logger';
import type { KeyValueStore } from '@storefront/platform/store';

/**
 * The "catalog generation": a value that is part of every response-cache key
 * and moves whenever the catalog changes, so every answer cached before the
 * change becomes unreachable at once, on every gateway instance, without
 * finding and deleting entries.
 *
 * What moves it: the events on inventory-events that change what the public
 * catalog shows — ProductCreated, ProductUpdated (also what adjustStock
 * publishes), ProductAvailabilityChanged (a product ran out or came back) and
 * CategoryCreated. The order saga's StockReserved/Rejected/Released do not:
 * the catalog shows `inStock`, never the level, and products announces every
 * flip of `inStock` on its own, so the cache survives order traffic.
 *
 * What it is: the offset of the last catalog event consumed on each partition
 * of the topic ("0:41,1:17,2:9"). Offsets are the same for every consumer, so two
 * instances that have consumed the same events hold the same generation and
 * share cache entries, whatever order they consumed the partitions in (the id
 * of "the latest event" would differ between them, and a per-instance counter
 * would never agree). An entry stored under a generation was computed by an
 * instance that had consumed at least those events, so a reader holding the
 * same generation never gets an answer older than what it has itself heard of.
 *
 * A gateway started later consumes from the end of the topic: it takes the
 * positions the running instances last recorded in the shared store as its
 * starting point, so it joins their generation instead of having its own.
 * Without them (first instance, or nothing published for a week) it starts
 * from "no events", which no earlier instance can share with an older answer
 * still alive: the positions outlive every cache entry (RESPONSE_CACHE_MAX_AGE_SECONDS).
 */
export interface CatalogGeneration {
  /** The current generation, for the cache key. */
  current(): string;
  /** The feed's consumer (the gateway's /readyz). */
  state(): ConsumerState;
  /** Stops the consumer; call before the bus closes. */
  stop(): Promise<void>;
}

/** The inventory-events types that change a cached answer (see above). */
const CATALOG_CHANGES: ReadonlySet<string> = new Set([
  'ProductCreated',
  'ProductUpdated',
  'ProductAvailabilityChanged',
  'CategoryCreated',
]);

/** Positions of catalog events only (earlier versions kept every event's, under another key). */
const POSITIONS_KEY = 'response-cache:catalog-positions';
/** Much longer than any cache entry may live, so a new instance never misses a change an entry predates. */
const POSITIONS_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type Positions = Record<string, string>;

export async function followCatalogChanges(options: {
  bus: EventBus;
  store: KeyValueStore;
  logger: Logger;
  /** Called after each change (tests, metrics). */
  onChange?: (generation: string) => void;
}): Promise<CatalogGeneration> {
  const { bus, store, logger } = options;
  const positions: Positions = {};
  let generation = '';
  const recompute = () => {
    generation = Object.keys(positions)
      .sort((a, b) => Number(a) - Number(b))
      .map((partition) => `${partition}:${positions[partition]}`)
      .join(',');
  };

  // Merge rather than overwrite: another instance may know partitions this one has not seen since it started.
  const record = async () => {
    const shared = parsePositions(await store.get(POSITIONS_KEY));
    await store.set(POSITIONS_KEY, JSON.stringify({ ...shared, ...positions }), { ttlMs: POSITIONS_TTL_MS });
  };

  await bus.ensureTopics([TOPICS.inventoryEvents]);
  // Started again in the same group if the bus gives up on it: the changes published meanwhile still come.
  const feed = await consumeSupervised(
    bus,
    {
      groupId: `gateway.response-cache.${randomUUID()}`,
      topics: [TOPICS.inventoryEvents],
      // Older events are in the recorded positions already; this group belongs to this instance only.
      fromBeginning: false,
      ephemeral: true,
      handler: async ({ partition, offset, event }) => {
        if (!CATALOG_CHANGES.has(event.type)) return;
        // One partition is consumed in order, so the latest offset is always the one to keep.
        positions[partition] = offset;
        recompute();
        options.onChange?.(generation);
        logger.debug({ type: event.type, partition, offset }, 'catalog changed: cached responses dropped');
        // Sharing the position is for instances started later; a store outage must not stall invalidation here.
        await record().catch((error: unknown) =>
          logger.warn({ err: error }, 'could not record the inventory-events position'),
        );
      },
    },
    logger,
  );

  // After joining at the end of the topic: whatever the others recorded is at most what this consumer will not see.
  try {
    const shared = parsePositions(await store.get(POSITIONS_KEY));
    for (const [partition, offset] of Object.entries(shared)) positions[partition] ??= offset;
    recompute();
  } catch (error) {
    logger.warn(
      { err: error },
      'could not read the inventory-events positions; this instance shares cache entries after the next change',
    );
  }

  return { current: () => generation, state: () => feed.state(), stop: () => feed.stop() };
}

function parsePositions(stored: string | undefined): Positions {
  if (!stored) return {};
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries<string>(
      Object.entries(parsed).filter(
        ([partition, offset]) => /^\d+$/.test(partition) && typeof offset === 'string' && /^\d+$/.test(offset),
      ),
    );
  } catch {
    return {};
  }
}
