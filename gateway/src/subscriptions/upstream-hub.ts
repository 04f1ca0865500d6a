import type { FormattedExecutionResult } from 'graphql';
import { stableStringify } from '@storefront/platform/auth/gateway-signature';
import type { SubgraphConnection, UpstreamFailure, UpstreamOperation } from './upstream-client.ts';

/**
 * Shares upstream subscriptions between identical client subscriptions and
 * fans their events out. Identical means same subgraph, upstream query,
 * variables AND identity: the subgraph authorises (and may shape) each event
 * for the identity that subscribed, so operations of different callers are
 * never merged.
 *
 * A newcomer joins an upstream subscription only until that one has
 * delivered its first event. After that, joining could hand it a different
 * stream than subscribing itself would: a resumable subscription replays
 * what came after `after` when it starts, and the newcomer would miss that
 * replay. So later identical subscriptions get an upstream of their own.
 *
 * The upstream subscription ends the moment its last listener leaves.
 *
 * An operation the chosen subgraph instance never received (`unreachable`:
 * the instance is down and another is up) is sent again through
 * `connectionTo`, which now picks another instance; nothing was delivered, so
 * nothing can be lost or repeated.
 */
/** Instances tried in turn for one operation before it fails as unavailable: a bound against flapping health. */
const MAX_REROUTES = 3;

export interface UpstreamListener {
  next(event: FormattedExecutionResult): void;
  /** The upstream ended; `failure` when it did not end normally. */
  end(failure?: UpstreamFailure): void;
}

interface Shared {
  key: string;
  subgraph: string;
  listeners: Set<UpstreamListener>;
  stop: () => void;
}

export class UpstreamHub {
  /** Upstream subscriptions that newcomers may still join (no event delivered yet). */
  private readonly joinable = new Map<string, Shared>();
  private readonly active = new Set<Shared>();

  constructor(private readonly connectionTo: (subgraph: string) => SubgraphConnection) {}

  /** Listens to `operation`'s events; the returned function leaves (idempotent). */
  join(operation: UpstreamOperation, listener: UpstreamListener): () => void {
    const key = [
      operation.subgraph,
      operation.identity ? `${operation.identity.userId}:${operation.identity.role}` : '',
      operation.query,
      stableStringify(operation.variables),
    ].join('\n');
    const shared = this.joinable.get(key) ?? this.open(key, operation);
    shared.listeners.add(listener);
    return () => {
      if (!shared.listeners.delete(listener) || shared.listeners.size > 0) return;
      this.forget(shared);
      shared.stop();
    };
  }

  /** Upstream subscriptions open, by subgraph. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const shared of this.active) counts[shared.subgraph] = (counts[shared.subgraph] ?? 0) + 1;
    return counts;
  }

  private open(key: string, operation: UpstreamOperation): Shared {
    const shared: Shared = { key, subgraph: operation.subgraph, listeners: new Set(), stop: () => {} };
    this.joinable.set(key, shared);
    this.active.add(shared);
    // Listeners may leave (and so change the set) while an event is being handed out: iterate over a copy.
    const each = (deliver: (listener: UpstreamListener) => void) => [...shared.listeners].forEach(deliver);
    const ended = (failure?: UpstreamFailure) => {
      this.forget(shared);
      each((listener) => listener.end(failure));
      shared.listeners.clear();
    };
    const subscribe = (reroutes: number) => {
      shared.stop = this.connectionTo(operation.subgraph).subscribe(operation, {
        next: (event) => {
          if (this.joinable.get(key) === shared) this.joinable.delete(key);
          each((listener) => listener.next(event));
        },
        fail: (failure) => {
          if (failure.kind !== 'unreachable') return ended(failure);
          if (reroutes < MAX_REROUTES) return subscribe(reroutes + 1);
          ended({ kind: 'unavailable', reason: failure.reason });
        },
        complete: () => ended(),
      });
    };
    subscribe(0);
    return shared;
  }

  private forget(shared: Shared) {
    if (this.joinable.get(shared.key) === shared) this.joinable.delete(shared.key);
    this.active.delete(shared);
  }
}
