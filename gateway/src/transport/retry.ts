import { SlidingWindow } from './sliding-window.ts';
import type { SubgraphShaping } from './traffic-config.ts';

/** Answers worth another attempt: the instance (or a proxy before it) could not serve, not the request was wrong. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/**
 * The wait before retry number `retry` (1, 2, …): exponential backoff with
 * full jitter — a random time up to `initial_ms × 2^(retry-1)`, capped at
 * `max_ms` — so the retries of many callers after one failure spread out
 * instead of arriving together.
 */
export function backoffMs(backoff: SubgraphShaping['retry']['backoff'], retry: number, random = Math.random): number {
  const ceiling = Math.min(backoff.max_ms, backoff.initial_ms * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

/**
 * A retry budget (Finagle's and Linkerd's): over the last `window_ms`,
 * retries may add at most `ratio` of the requests made, plus
 * `min_per_second` (so a quiet subgraph can still retry). When a subgraph
 * fails every request, its load grows by `ratio`, not by the number of
 * retries each request may make. One budget per subgraph, over its instances.
 */
export class RetryBudget {
  /** a: requests, b: retries. */
  private readonly window: SlidingWindow;
  private readonly reserve: number;

  constructor(
    private readonly budget: SubgraphShaping['retry']['budget'],
    now: () => number = performance.now.bind(performance),
  ) {
    this.window = new SlidingWindow(budget.window_ms, now);
    this.reserve = (budget.min_per_second * budget.window_ms) / 1000;
  }

  /** A request (not a retry) was made. */
  request(): void {
    this.window.add(1, 0);
  }

  /** Takes one retry from the budget; false when none is left. */
  withdraw(): boolean {
    const { a: requests, b: retries } = this.window.totals();
    if (retries + 1 > this.reserve + this.budget.ratio * requests) return false;
    this.window.add(0, 1);
    return true;
  }
}
