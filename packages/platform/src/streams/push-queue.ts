import type { Stream } from './stream.ts';

/**
 * Values pushed by one side (events as they arrive), pulled by the other (a
 * subscription server's `for await`), with a bounded buffer in between: the
 * one queue of the project, under the gateway's federated subscriptions and
 * the services' live feeds.
 *
 * Why not an async generator: a generator that is waiting for its next value
 * cannot be interrupted, so `return()` (the client sent `complete`, or its
 * socket closed) would only take effect at the next event, and whatever feeds
 * the queue would stay subscribed until then. Here `return()` settles a
 * waiting `next()` at once and calls `onReturn` synchronously.
 */
export interface PushQueue<T> extends Stream<T> {
  /** False when the buffer is full (the value is dropped; the caller decides what that means). */
  push(value: T): boolean;
  /** No more values after the buffered ones and `last`, which is queued even when the buffer is full. */
  end(last?: T): void;
  /** Ends with `error`: buffered values are dropped and the next `next()` rejects with it, once. */
  fail(error: Error): void;
  /** Drops what is buffered (e.g. before ending a stream that fell behind). */
  clear(): void;
  /** True once the consumer called `return()`/`throw()`. */
  readonly returned: boolean;
}

export function createPushQueue<T>(options: { capacity: number; onReturn?: () => void }): PushQueue<T> {
  let buffer: T[] = [];
  let waiting: { resolve: (result: IteratorResult<T, undefined>) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  let ended = false;
  let returned = false;
  const done = (): IteratorResult<T, undefined> => ({ value: undefined, done: true });

  const deliver = (value: T) => {
    const waiter = waiting!;
    waiting = undefined;
    waiter.resolve({ value, done: false });
  };
  const stop = async (): Promise<IteratorResult<T, undefined>> => {
    if (!returned) {
      returned = true;
      ended = true;
      buffer = [];
      failure = undefined;
      waiting?.resolve(done());
      waiting = undefined;
      options.onReturn?.();
    }
    return done();
  };

  const queue: PushQueue<T> = {
    push(value) {
      if (ended) return true;
      if (waiting) return (deliver(value), true);
      if (buffer.length >= options.capacity) return false;
      buffer.push(value);
      return true;
    },
    end(last) {
      if (ended) return;
      if (last !== undefined) {
        if (waiting) deliver(last);
        else buffer.push(last);
      }
      ended = true;
      if (waiting && buffer.length === 0) {
        waiting.resolve(done());
        waiting = undefined;
      }
    },
    fail(error) {
      if (ended) return;
      ended = true;
      buffer = [];
      if (waiting) {
        waiting.reject(error);
        waiting = undefined;
      } else failure = error;
    },
    clear() {
      buffer = [];
    },
    get returned() {
      return returned;
    },
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve(done());
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    return: stop,
    throw: stop,
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
