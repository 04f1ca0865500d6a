import { createRequire } from 'node:module';

/**
 * Stops kafkajs 2.2.4 from waking the process every millisecond per broker
 * connection while nothing is queued (kafkajs#1556, #1704; the fix of
 * kafkajs#1667 was never merged or released).
 *
 * Its RequestQueue re-arms a "check the pending requests" timer after every
 * check, and with nothing pending and no throttling the delay it computes is
 * negative, so Node runs it again 1 ms later, forever: every service and the
 * gateway burned CPU on it while idle, and each wake-up also competes with
 * real requests. Measured in bench/README.md ("Idle").
 *
 * The replacement arms the timer only when a request waits in the queue: for
 * the end of a broker-imposed throttle, or 10 ms later as before when the
 * queue is merely full. Nothing else needs it: a request pushed while the
 * queue can send goes out at once, and a finished or timed-out request runs
 * the check itself. Patched here, in the one module that creates Kafka
 * clients, rather than through a post-install patch, so every way of
 * installing and bundling the project gets it.
 */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval for re-checking a full queue. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  prototype: RequestQueueInternals;
};

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttledForMs = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** Idempotent; called when the first Kafka client is made. */
export function stopKafkajsIdleLoop(): void {
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
}
