/**
 * Async iterators for subscriptions.
 *
 * Why not async generators: a generator waiting at an `await` (for the next
 * event) cannot be stopped; its `return()` is queued until the await
 * resolves, which for a quiet order may be never. Every stream here ends at
 * once on `return()`, releases its source, and answers a pending `next()`
 * with `done`, so a client that leaves costs nothing from that moment on.
 */
import type { Stream } from './stream.ts';

export type { Stream } from './stream.ts';

/** Argument values that resume a subscription right after one of its payloads, e.g. `{ after: 4 }`. */
export type ResumePoint = Record<string, string | number | boolean | null>;

const RESUME_POINT = Symbol('storefront.resume-point');

/**
 * Marks a subscription payload with the arguments that resume its
 * subscription right after it. The subgraph server sends them with the
 * event (`extensions.resume`); when the connection to this instance drops,
 * the gateway subscribes again with them, on this or another instance, so
 * the client misses nothing and sees nothing twice. Only for subscriptions
 * that really replay from those arguments (orderStatusChanged's `after`).
 */
export function resumeAt<T extends object>(payload: T, point: ResumePoint): T {
  Object.defineProperty(payload, RESUME_POINT, { value: point, enumerable: false });
  return payload;
}

export function resumePointOf(payload: unknown): ResumePoint | undefined {
  return typeof payload === 'object' && payload !== null
    ? (payload as { [RESUME_POINT]?: ResumePoint })[RESUME_POINT]
    : undefined;
}

const TRACE = Symbol('storefront.trace');

/**
 * Marks a subscription payload with the trace context of the event it
 * pushes (`traceOf(delivered)` from the live feed), so the subgraph traces
 * the push as part of that event's trace and passes the context on to the
 * gateway (`extensions.traceparent`). A no-op without one.
 */
export function traceAt<T extends object>(payload: T, traceparent: string | undefined): T {
  if (traceparent) Object.defineProperty(payload, TRACE, { value: traceparent, enumerable: false });
  return payload;
}

export function traceOfPayload(payload: unknown): string | undefined {
  return typeof payload === 'object' && payload !== null ? (payload as { [TRACE]?: string })[TRACE] : undefined;
}

/** Returned by a `mapStream` mapper to drop an item. */
export const SKIP: unique symbol = Symbol('skip');

export interface MapStreamOptions<S, T> {
  /** Items handled before the source's (e.g. history read from the database), through the same mapper. */
  prefix?: Iterable<S>;
  /** Ends the stream right after delivering an item for which this is true (e.g. an order's final status). */
  isLast?: (value: T) => boolean;
  /** Turns a failure of the source or the mapper into one last item; without it the reader gets the error. */
  onError?: (error: unknown) => T;
  /** Called once when the stream ends, however it ends. */
  onEnd?: () => void;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/** Maps (and filters, with SKIP) a source stream; see the module comment for how it ends. */
export function mapStream<S, T>(
  source: AsyncIterator<S>,
  map: (item: S) => T | typeof SKIP | Promise<T | typeof SKIP>,
  options: MapStreamOptions<S, T> = {},
): Stream<T> {
  let ended = false;
  let lastDelivered = false;
  let prefix: Iterator<S> | undefined = options.prefix?.[Symbol.iterator]();

  const end = async () => {
    if (ended) return;
    ended = true;
    prefix = undefined;
    options.onEnd?.();
    await Promise.resolve(source.return?.()).catch(() => undefined);
  };

  const nextItem = async (): Promise<IteratorResult<S>> => {
    if (prefix) {
      const item = prefix.next();
      if (!item.done) return item;
      prefix = undefined;
    }
    return source.next();
  };

  const stream: Stream<T> = {
    async next() {
      while (!ended) {
        if (lastDelivered) break;
        try {
          const item = await nextItem();
          if (ended) break;
          if (item.done) break;
          const value = await map(item.value);
          if (ended) break;
          if (value === SKIP) continue;
          if (options.isLast?.(value)) lastDelivered = true;
          return { value, done: false };
        } catch (error) {
          if (ended) break;
          await end();
          if (options.onError) return { value: options.onError(error), done: false };
          throw error;
        }
      }
      await end();
      return DONE;
    },
    async return() {
      await end();
      return DONE;
    },
    async throw() {
      await end();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

export { createPushQueue, type PushQueue } from './push-queue.ts';
