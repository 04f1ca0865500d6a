import { SlidingWindow } from './sliding-window.ts';
import type { SubgraphShaping } from './traffic-config.ts';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** A call let through: hand it back to `record` when it ends. */
export interface CircuitTicket {
  /** The breaker's generation when the call was let through: a result from an older one is ignored. */
  readonly generation: number;
}

/**
 * The circuit breaker of one subgraph instance (a lone URL has one too):
 *
 * - closed: every call passes; once the last `window_ms` holds at least
 *   `minimum_calls` calls and `failure_ratio` of them failed, it opens;
 * - open: no call passes (the transport answers SUBGRAPH_UNAVAILABLE at
 *   once) for `open_ms`, then it is half-open;
 * - half-open: up to `half_open_probes` calls at a time pass as probes;
 *   when that many have succeeded it closes with an empty window, and the
 *   first that fails opens it again for another `open_ms`.
 *
 * A call's result counts only in the state it was let through in: an answer
 * that arrives after the breaker moved on says nothing about the new state.
 *
 * Hand-written rather than taken from a library: the balancer must ask
 * "would this instance take a call?" without making one, to pick another
 * instance; cockatiel makes callers wait behind its single half-open probe
 * instead of refusing them at once, and opossum keeps the failures of the
 * window when it closes (the next failure reopens it) and runs timers per
 * breaker; both current majors also need Node 22. The state machine is the
 * sixty lines below.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private generation = 0;
  private openedAt = 0;
  private probesInFlight = 0;
  private probesPassed = 0;
  /** a: calls, b: failures. */
  private readonly window: SlidingWindow;

  constructor(
    private readonly settings: SubgraphShaping['circuit_breaker'],
    private readonly onChange: (from: CircuitState, to: CircuitState) => void,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.window = new SlidingWindow(settings.window_ms, now);
  }

  get state(): CircuitState {
    return this.current;
  }

  /** Whether a call would pass now (an open breaker whose time is up becomes half-open). */
  canPass(): boolean {
    if (this.current === 'open' && this.now() - this.openedAt >= this.settings.open_ms) this.moveTo('half_open');
    if (this.current === 'half_open') return this.probesInFlight < this.settings.half_open_probes;
    return this.current === 'closed';
  }

  /** Lets a call through, or refuses it (undefined). */
  pass(): CircuitTicket | undefined {
    if (!this.canPass()) return undefined;
    if (this.current === 'half_open') this.probesInFlight++;
    return { generation: this.generation };
  }

  /** How a call let through ended: `ok` false for a connection error, a timeout or an unavailable answer. */
  record(ticket: CircuitTicket, ok: boolean): void {
    if (ticket.generation !== this.generation) return;
    if (this.current === 'half_open') {
      this.probesInFlight--;
      if (!ok) return this.open();
      if (++this.probesPassed >= this.settings.half_open_probes) this.moveTo('closed');
      return;
    }
    this.window.add(1, ok ? 0 : 1);
    if (ok) return;
    const { a: calls, b: failures } = this.window.totals();
    if (calls >= this.settings.minimum_calls && failures / calls >= this.settings.failure_ratio) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.moveTo('open');
  }

  private moveTo(next: CircuitState): void {
    const previous = this.current;
    this.current = next;
    this.generation++;
    this.probesInFlight = 0;
    this.probesPassed = 0;
    this.window.clear();
    this.onChange(previous, next);
  }
}
