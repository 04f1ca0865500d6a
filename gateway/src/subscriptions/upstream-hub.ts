import type { FormattedExecutionResult } from 'graphql';
import { stableStringify } from '@storefront/platform/auth';
import type { ResumePoint } from '@storefront/platform/streams';
import { resumedOperation, resumePointIn } from './resume.ts';
import type { SubgraphConnection, UpstreamFailure, UpstreamOperation } from './upstream-client.ts';

/** Instances tried in turn for one operation before it fails as unavailable: a bound against flapping health. */
const MAX_REROUTES = 3;
/** Resumptions in a row without an event in between before giving up: a bound against an instance that keeps dropping. */
const MAX_RESUMES = 3;

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
 *
 * An operation whose connection drops while it runs is subscribed again
 * when its last event said how to resume (resume.ts): the listeners keep
 * their stream and miss nothing. One that cannot be resumed ends with
 * `interrupted`, and the client resubscribes itself.
 */
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
    let resume: ResumePoint | undefined;
    let resumes = 0;
    const subscribe = (current: UpstreamOperation, reroutes: number) => {
      shared.stop = this.connectionTo(current.subgraph).subscribe(current, {
        next: (event) => {
          if (this.joinable.get(key) === shared) this.joinable.delete(key);
          resume = resumePointIn(event);
          resumes = 0;
          each((listener) => listener.next(event));
        },
        fail: (failure) => {
          if (failure.kind === 'unreachable') {
            if (reroutes < MAX_REROUTES) return subscribe(current, reroutes + 1);
            return ended({ kind: 'unavailable', reason: failure.reason });
          }
          if (failure.kind === 'interrupted' && resume && resumes < MAX_RESUMES) {
            resumes++;
            return subscribe(resumedOperation(current, resume), 0);
          }
          ended(failure);
        },
        complete: () => ended(),
      });
    };
    subscribe(operation, 0);
    return shared;
  }

  private forget(shared: Shared) {
    if (this.joinable.get(shared.key) === shared) this.joinable.delete(shared.key);
    this.active.delete(shared);
  }
}
