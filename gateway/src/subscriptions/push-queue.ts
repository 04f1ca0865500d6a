/**
 * Values pushed by one side (upstream events), pulled by the other (the
 * graphql-ws server's `for await`), with a bounded buffer in between.
 *
 * Why not an async generator: a generator that is waiting for its next value
 * cannot be interrupted, so graphql-ws's `return()` (the client sent
 * `complete`, or its socket closed) would only take effect at the next event,
 * and the upstream subscription would stay open until then. Here `return()`
 * settles a waiting `next()` at once and calls `onReturn` synchronously.
 */
export interface PushQueue<T> extends AsyncIterableIterator<T> {
  /** False when the buffer is full (the value is dropped; the caller decides what that means). */
  push(value: T): boolean;
  /** No more values after the buffered ones and `last`, which is queued even when the buffer is full. */
  end(last?: T): void;
  /** Drops what is buffered (e.g. before ending a stream that fell behind). */
  clear(): void;
  /** Stops at once: a waiting `next()` settles as done, buffered values are dropped, `onReturn` runs. */
  return(): Promise<IteratorResult<T>>;
  /** True once the consumer called `return()`/`throw()`. */
  readonly returned: boolean;
}

export function createPushQueue<T>(options: { capacity: number; onReturn?: () => void }): PushQueue<T> {
  let buffer: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let ended = false;
  let returned = false;
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });

  const deliver = (value: T) => {
    const resolve = waiting!;
    waiting = undefined;
    resolve({ value, done: false });
  };
  const stop = async (): Promise<IteratorResult<T>> => {
    if (!returned) {
      returned = true;
      ended = true;
      buffer = [];
      waiting?.(done());
      waiting = undefined;
      options.onReturn?.();
    }
    return done();
  };

  return {
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
        waiting(done());
        waiting = undefined;
      }
    },
    clear() {
      buffer = [];
    },
    get returned() {
      return returned;
    },
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (ended) return Promise.resolve(done());
      return new Promise((resolve) => (waiting = resolve));
    },
    return: stop,
    throw: stop,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
