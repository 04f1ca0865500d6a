import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Logger } from '@storefront/platform/logger';
import { Balancer } from './balancer.ts';
import { classifyFailure, SubgraphFailure, type FetchOutcome } from './errors.ts';
import { startHealthChecks } from './health.ts';
import type { SubgraphInstance } from './instances.ts';
import type { Exchange } from './received-response.ts';

/** One fetch to one instance, reported when it ends (request counts, metrics). */
export interface SubgraphFetchEvent {
  subgraph: string;
  /** The instance's URL as configured. */
  instance: string;
  durationMs: number;
  outcome: FetchOutcome;
}

export interface SubgraphClientOptions {
  /** Total time for a fetch, retry and reading the answer included. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Connections per instance; more requests wait in the pool's queue. */
  maxConnections: number;
  healthIntervalMs: number;
  logger: Logger;
  onFetch?: (event: SubgraphFetchEvent) => void;
}

/** An instance with everything a fetch needs, worked out once at start. */
interface Upstream extends SubgraphInstance {
  origin: string;
  /** Path and query of the GraphQL endpoint, e.g. `/graphql`. */
  path: string;
  pool: Pool;
}

/**
 * The HTTP side of one subgraph: a keep-alive undici pool per instance
 * (bounded: `maxConnections`), a balancer over the instances, health checks
 * when there is more than one, one deadline per fetch, and a second try on
 * another instance when the first could not even connect.
 */
export class SubgraphClient {
  private readonly upstreams: Upstream[];
  private readonly balancer: Balancer<Upstream>;
  private readonly health: { stop(): Promise<void> } | undefined;
  private readonly logger: Logger;

  constructor(
    readonly subgraph: string,
    instances: readonly SubgraphInstance[],
    private readonly options: SubgraphClientOptions,
  ) {
    const connectTimeout = Math.min(options.connectTimeoutMs, options.timeoutMs);
    this.logger = options.logger.child({ component: 'subgraph-transport', subgraph });
    this.upstreams = instances.map((instance) => {
      const url = new URL(instance.url);
      return {
        ...instance,
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        pool: new Pool(url.origin, {
          connections: options.maxConnections,
          connectTimeout,
          // The deadline below bounds every fetch; these only stop a socket from idling forever.
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          keepAliveTimeout: 30_000,
          keepAliveMaxTimeout: 60_000,
        }),
      };
    });
    this.balancer = new Balancer(this.upstreams);
    // With one instance there is nothing to choose between: it is always tried.
    this.health =
      this.upstreams.length > 1
        ? startHealthChecks({
            targets: this.upstreams,
            intervalMs: options.healthIntervalMs,
            timeoutMs: Math.min(options.healthIntervalMs, options.timeoutMs),
            connectTimeoutMs: connectTimeout,
            onResult: (upstream, ready, detail) => this.setHealth(upstream, ready, detail),
          })
        : undefined;
  }

  /**
   * POSTs `body` and reads the whole answer. `retryable` (a query) lets a
   * fetch whose connection was refused go to another instance once: nothing
   * was sent, so nothing can run twice. Throws SubgraphFailure.
   */
  async send(body: string, headers: Record<string, string>, retryable: boolean): Promise<Exchange> {
    const deadline = new AbortController();
    const timer = setTimeout(abortAtDeadline, this.options.timeoutMs, deadline);
    try {
      const first = this.balancer.pick()!;
      try {
        return await this.attempt(first, body, headers, deadline.signal);
      } catch (error) {
        const second =
          retryable && (error as SubgraphFailure).kind === 'unreachable' ? this.balancer.pick(first) : undefined;
        if (!second) throw error;
        return await this.attempt(second, body, headers, deadline.signal);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The instance the next long-lived connection (an upstream subscription)
   * should go to: the same balancer, weights and health as fetches.
   */
  pickInstance(): string {
    return this.balancer.pick()!.url;
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

  async close(): Promise<void> {
    await this.health?.stop();
    await Promise.all(this.upstreams.map((upstream) => upstream.pool.destroy()));
  }

  private async attempt(
    upstream: Upstream,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Exchange> {
    const started = performance.now();
    let outcome: FetchOutcome = 'failed';
    try {
      const response = await upstream.pool.request({ path: upstream.path, method: 'POST', headers, body, signal });
      const text = await response.body.text();
      const status = response.statusCode;
      outcome = status >= 200 && status < 300 ? 'ok' : 'http_error';
      // A good answer from an instance marked down (tried because every instance was) proves it is back.
      if (outcome === 'ok' && !this.balancer.isUp(upstream)) this.setHealth(upstream, true, `answered HTTP ${status}`);
      return { status, headers: response.headers, text };
    } catch (error) {
      const failure = new SubgraphFailure(classifyFailure(error, signal.aborted), upstream.url, error);
      outcome = failure.kind;
      // Passive ejection: an instance that cannot be connected to or does not answer in time gets no
      // more traffic until a health check passes again.
      const ejected = failure.kind !== 'failed' && this.setHealth(upstream, false, failure.message);
      if (!ejected) this.logger.warn({ instance: upstream.url, reason: failure.message }, 'subgraph fetch failed');
      throw failure;
    } finally {
      this.options.onFetch?.({
        subgraph: this.subgraph,
        instance: upstream.url,
        durationMs: performance.now() - started,
        outcome,
      });
    }
  }

  /** Records an instance's health; true when that changed it. A lone instance is never ejected: it is all there is. */
  private setHealth(upstream: Upstream, up: boolean, detail: string): boolean {
    if (!this.health || up === this.balancer.isUp(upstream)) return false;
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
