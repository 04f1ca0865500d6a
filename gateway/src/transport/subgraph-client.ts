import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Logger } from '@storefront/platform/logger';
import { Balancer } from './balancer.ts';
import { CircuitBreaker, type CircuitState, type CircuitTicket } from './circuit-breaker.ts';
import { classifyFailure, SubgraphFailure, type FetchOutcome } from './errors.ts';
import { startHealthChecks } from './health.ts';
import type { SubgraphInstance } from './instances.ts';
import type { Exchange } from './received-response.ts';
import { backoffMs, RETRY_STATUSES, RetryBudget } from './retry.ts';
import type { SubgraphShaping } from './traffic-config.ts';

/** One fetch to one instance, reported when it ends (request counts, metrics). */
export interface SubgraphFetchEvent {
  subgraph: string;
  /** The instance's URL as configured. */
  instance: string;
  durationMs: number;
  outcome: FetchOutcome;
}

/** What traffic shaping did, for metrics and logs. */
export interface ShapingEvents {
  /** A fetch is tried again; `reason` is what the last attempt met (`unreachable`, `timeout`, `failed`, `http_503`, …). */
  onRetry?: (event: { subgraph: string; instance: string; reason: string }) => void;
  /** A retry that was due was not made: the retry budget was spent. */
  onRetryRefused?: (event: { subgraph: string; reason: 'budget' }) => void;
  /** An instance's circuit breaker changed state. */
  onCircuitChange?: (event: { subgraph: string; instance: string; from: CircuitState; to: CircuitState }) => void;
  /** A fetch answered SUBGRAPH_UNAVAILABLE without being sent: every instance's breaker was open. */
  onCircuitRefused?: (event: { subgraph: string }) => void;
}

export interface SubgraphClientOptions extends ShapingEvents {
  shaping: SubgraphShaping;
  logger: Logger;
  onFetch?: (event: SubgraphFetchEvent) => void;
}

/** An instance with everything a fetch needs, worked out once at start. */
interface Upstream extends SubgraphInstance {
  origin: string;
  /** Path and query of the GraphQL endpoint, e.g. `/graphql`. */
  path: string;
  pool: Pool;
  /** Undefined when the subgraph's breaker is disabled. */
  breaker: CircuitBreaker | undefined;
}

/**
 * How one attempt ended: an answer (any status), or a failure; `totalSpent`
 * when the fetch's whole time ran out during it (no retry is left).
 */
type Attempt = { totalSpent: boolean } & (
  { exchange: Exchange; failure?: undefined } | { exchange?: undefined; failure: SubgraphFailure }
);

/**
 * The HTTP side of one subgraph, shaped by its section of traffic.yaml: a
 * keep-alive undici pool per instance (`pool.max_connections`), a balancer
 * over the instances, health checks when there is more than one, a circuit
 * breaker per instance, a timeout per attempt and one for the whole fetch,
 * and retries of queries with backoff, jitter and a retry budget.
 */
export class SubgraphClient {
  private readonly upstreams: Upstream[];
  private readonly balancer: Balancer<Upstream>;
  private readonly healthChecks: { stop(): Promise<void> };
  private readonly logger: Logger;
  private readonly budget: RetryBudget;
  private readonly shaping: SubgraphShaping;
  private retiring: NodeJS.Timeout | undefined;
  /** A lone instance's last verdict (health check or fetch): reported by /readyz, never acted on (it is all there is). */
  private loneUp = true;

  constructor(
    readonly subgraph: string,
    instances: readonly SubgraphInstance[],
    private readonly options: SubgraphClientOptions,
  ) {
    const { shaping } = options;
    this.shaping = shaping;
    const { timeouts } = shaping;
    this.logger = options.logger.child({ component: 'subgraph-transport', subgraph });
    this.budget = new RetryBudget(shaping.retry.budget);
    this.upstreams = instances.map((instance) => {
      const url = new URL(instance.url);
      return {
        ...instance,
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        pool: new Pool(url.origin, {
          connections: shaping.pool.max_connections,
          connectTimeout: timeouts.connect_ms,
          // The attempt's deadline bounds every fetch; these only stop a socket from idling forever.
          headersTimeout: timeouts.request_ms,
          bodyTimeout: timeouts.request_ms,
          keepAliveTimeout: 30_000,
          keepAliveMaxTimeout: 60_000,
        }),
        breaker: shaping.circuit_breaker.enabled
          ? new CircuitBreaker(shaping.circuit_breaker, (from, to) => this.circuitChanged(instance.url, from, to))
          : undefined,
      };
    });
    this.balancer = new Balancer(this.upstreams);
    // With one instance there is nothing to choose between: it is always tried (its breaker permitting), and
    // its checks only tell the gateway's /readyz whether the subgraph has a healthy instance.
    this.healthChecks = startHealthChecks({
      targets: this.upstreams,
      intervalMs: shaping.health_check.interval_ms,
      timeoutMs: Math.min(shaping.health_check.interval_ms, timeouts.request_ms),
      connectTimeoutMs: timeouts.connect_ms,
      unhealthyThreshold: shaping.health_check.unhealthy_threshold,
      healthyThreshold: shaping.health_check.healthy_threshold,
      isUp: (upstream) => this.isUp(upstream),
      onResult: (upstream, ready, detail) => this.setHealth(upstream, ready, detail),
    });
  }

  /** For the gateway's /readyz: instances that are up (health checks, fetches) and whose breaker is not open. */
  health(): { instances: number; healthyInstances: number } {
    const healthy = this.upstreams.filter((u) => this.isUp(u) && u.breaker?.state !== 'open');
    return { instances: this.upstreams.length, healthyInstances: healthy.length };
  }

  /**
   * POSTs `body` and reads the whole answer; throws SubgraphFailure. An
   * answer with an error status is returned, not thrown (the data source
   * turns it into SUBGRAPH_BAD_RESPONSE).
   *
   * `retryable` (a query) lets a connection error, a timeout of one attempt
   * or a 502/503/504 be tried again — on another instance when one is up —
   * after a jittered backoff, while `timeouts.total_ms` leaves time, up to
   * `retry.max_retries` times and as far as the retry budget allows. A
   * mutation is sent once: it may have run even when its answer was lost.
   * `headers` is called for each attempt: a retry must carry a signature of
   * its own, as the subgraph refuses a nonce it has seen (the first attempt
   * may have reached it).
   */
  async send(body: string, headers: () => Record<string, string>, retryable: boolean): Promise<Exchange> {
    const { timeouts, retry } = this.shaping;
    const started = performance.now();
    this.budget.request();
    let previous: Upstream | undefined;
    for (let retries = 0; ; retries++) {
      const upstream = this.pickAdmitted(previous);
      if (!upstream) {
        this.options.onCircuitRefused?.({ subgraph: this.subgraph });
        throw new SubgraphFailure('circuit_open', this.subgraph, 'the circuit breaker of every instance is open');
      }
      // Each attempt has one deadline: its own, or what is left of the fetch's total when that comes first.
      const left = timeouts.total_ms - (performance.now() - started);
      const { exchange, failure, totalSpent } = await this.attempt(
        upstream.instance,
        upstream.ticket,
        body,
        headers(),
        left,
      );
      if (exchange && !RETRY_STATUSES.has(exchange.status)) return exchange;
      const reason = exchange ? `http_${exchange.status}` : failure.kind;
      // Nothing more may be tried: give the caller what the last attempt met.
      const giveUp = () => {
        if (exchange) return exchange;
        throw failure.kind === 'timeout' && totalSpent
          ? new SubgraphFailure('timeout', failure.instance, failure.cause, timeouts.total_ms)
          : failure;
      };
      if (!retryable || retries >= retry.max_retries || totalSpent) return giveUp();
      const wait = backoffMs(retry.backoff, retries + 1);
      // A retry that could not even start before the deadline is not worth the budget.
      if (performance.now() - started + wait >= timeouts.total_ms) return giveUp();
      if (!this.budget.withdraw()) {
        this.options.onRetryRefused?.({ subgraph: this.subgraph, reason: 'budget' });
        return giveUp();
      }
      this.options.onRetry?.({ subgraph: this.subgraph, instance: upstream.instance.url, reason });
      if (wait > 0) await sleep(wait);
      previous = upstream.instance;
    }
  }

  /**
   * The instance the next long-lived connection (an upstream subscription)
   * should go to: the same balancer, weights, health and breakers as
   * fetches (when every breaker is open, still one: a subscription waits
   * for no probe).
   */
  pickInstance(): string {
    return (this.balancer.pick(undefined, admitted) ?? this.balancer.pick()!).url;
  }

  /**
   * Something other than a fetch (a subscription socket) found `instance`
   * unreachable: eject it like a failed fetch. True when another instance is
   * up to take its place.
   */
  reportUnreachable(instance: string, detail: string): boolean {
    const upstream = this.upstreams.find((u) => u.url === instance);
    if (!upstream) return false;
    this.setHealth(upstream, false, detail);
    return this.balancer.hasOtherUp(upstream);
  }

  /** Each instance's breaker state (metrics); none when breakers are disabled. */
  circuitStates(): { instance: string; state: CircuitState }[] {
    return this.upstreams.flatMap((u) => (u.breaker ? [{ instance: u.url, state: u.breaker.state }] : []));
  }

  async close(): Promise<void> {
    clearTimeout(this.retiring);
    await this.healthChecks.stop();
    // A retired client's pools may be closed already: destroying them again is harmless.
    await Promise.all(this.upstreams.map((upstream) => upstream.pool.destroy().catch(() => {})));
  }

  /**
   * Replaced by a client of a new configuration (transport/index.ts): no
   * more health checks; fetches already sent here finish (a fetch, with its
   * retries, is over within `timeouts.total_ms`), then the pools close.
   */
  retire(onClosed: () => void): void {
    void this.healthChecks.stop();
    this.retiring = setTimeout(() => {
      void Promise.all(this.upstreams.map((upstream) => upstream.pool.close().catch(() => {}))).then(onClosed);
    }, this.shaping.timeouts.total_ms).unref();
  }

  /**
   * The instance for the next attempt: another than `previous` when one is
   * up and its breaker lets a call pass, else `previous` again (a lone
   * instance); undefined when every breaker refuses.
   */
  private pickAdmitted(
    previous: Upstream | undefined,
  ): { instance: Upstream; ticket: CircuitTicket | undefined } | undefined {
    const instance = (previous && this.balancer.pick(previous, admitted)) ?? this.balancer.pick(undefined, admitted);
    if (!instance) return undefined;
    // Synchronous after canPass(): no other fetch can take the last probe in between.
    const ticket = instance.breaker?.pass();
    return { instance, ticket };
  }

  private async attempt(
    upstream: Upstream,
    ticket: CircuitTicket | undefined,
    body: string,
    headers: Record<string, string>,
    totalLeftMs: number,
  ): Promise<Attempt> {
    const { request_ms } = this.shaping.timeouts;
    const started = performance.now();
    // One signal and one timer per attempt (AbortSignal.any over two was a visible share of a fetch's cost).
    const totalFirst = totalLeftMs <= request_ms;
    const deadline = new AbortController();
    const timer = setTimeout(abortAtDeadline, Math.max(0, totalFirst ? totalLeftMs : request_ms), deadline);
    const { signal } = deadline;
    let outcome: FetchOutcome = 'failed';
    try {
      const response = await upstream.pool.request({ path: upstream.path, method: 'POST', headers, body, signal });
      const text = await response.body.text();
      const status = response.statusCode;
      outcome = status >= 200 && status < 300 ? 'ok' : 'http_error';
      if (ticket) upstream.breaker!.record(ticket, !RETRY_STATUSES.has(status));
      // A good answer from an instance marked down (tried because every instance was) proves it is back.
      if (outcome === 'ok' && !this.isUp(upstream)) this.setHealth(upstream, true, `answered HTTP ${status}`);
      return { exchange: { status, headers: response.headers, text }, totalSpent: totalFirst && signal.aborted };
    } catch (error) {
      const kind = classifyFailure(error, signal.aborted);
      const failure = new SubgraphFailure(kind, upstream.url, error, kind === 'timeout' ? request_ms : undefined);
      const totalSpent = totalFirst && signal.aborted;
      outcome = failure.kind as FetchOutcome;
      if (ticket) upstream.breaker!.record(ticket, false);
      // Passive ejection: an instance that cannot be connected to or does not answer in time gets no
      // more traffic until a health check passes again.
      const ejected = failure.kind !== 'failed' && this.setHealth(upstream, false, failure.message);
      if (!ejected) this.logger.warn({ instance: upstream.url, reason: failure.message }, 'subgraph fetch failed');
      return { failure, totalSpent };
    } finally {
      clearTimeout(timer);
      this.options.onFetch?.({
        subgraph: this.subgraph,
        instance: upstream.url,
        durationMs: performance.now() - started,
        outcome,
      });
    }
  }

  private circuitChanged(instance: string, from: CircuitState, to: CircuitState): void {
    const log = to === 'open' ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
    log(
      { instance, from, to },
      to === 'open'
        ? `circuit breaker opened: fetches answer SUBGRAPH_UNAVAILABLE for ${this.shaping.circuit_breaker.open_ms} ms`
        : `circuit breaker is ${to.replace('_', '-')}`,
    );
    this.options.onCircuitChange?.({ subgraph: this.subgraph, instance, from, to });
  }

  private isUp(upstream: Upstream): boolean {
    return this.upstreams.length > 1 ? this.balancer.isUp(upstream) : this.loneUp;
  }

  /** Records an instance's health; true when that changed it. A lone instance is never ejected: it is all there is. */
  private setHealth(upstream: Upstream, up: boolean, detail: string): boolean {
    if (this.upstreams.length === 1) {
      if (up !== this.loneUp)
        this.logger[up ? 'info' : 'warn'](
          { instance: upstream.url, detail },
          up ? 'subgraph instance is ready again' : 'subgraph instance is not ready (it is the only one: still tried)',
        );
      this.loneUp = up;
      return false;
    }
    if (up === this.balancer.isUp(upstream)) return false;
    if (up) {
      this.balancer.markUp(upstream);
      this.logger.info({ instance: upstream.url, detail }, 'subgraph instance is up again');
    } else {
      this.balancer.markDown(upstream);
      this.logger.warn(
        { instance: upstream.url, detail },
        'subgraph instance is down: no traffic until a health check passes',
      );
    }
    return true;
  }
}

function abortAtDeadline(deadline: AbortController): void {
  deadline.abort();
}

const admitted = (upstream: Upstream): boolean => upstream.breaker?.canPass() ?? true;
