/**
 * Shares one in-flight promise among callers asking for the same key; the key
 * is forgotten as soon as the promise settles, so nothing is cached — a call
 * after that starts a new fetch. Hand-written: the semantics (forget on
 * settle, no TTL, no cache) are ten lines, less than any package's options.
 */
export class FetchDedup<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Joins the call in flight for `key`, or starts one with `start`. */
  run(key: string, start: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = start();
    this.inFlight.set(key, started);
    const forget = () => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    };
    started.then(forget, forget);
    return started;
  }
}
