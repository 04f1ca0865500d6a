import type { ConsumerState } from '../events/bus.ts';

/**
 * What a subgraph's GET /readyz answers: 200 when the instance should get
 * traffic, 503 when not, and the checks behind the verdict either way:
 *
 *   { "status": "ready",
 *     "checks": { "database": "ok", "outbox": "running",
 *                 "consumers": { "orders": "running", "orders.payments": "joining" } } }
 *
 * Unready: draining (shutting down), the database does not answer, the
 * outbox relay is not running, or a consumer is `stopped` (the bus gave up
 * on it; it is being started again, events/supervised-consumer.ts).
 *
 * Not unready, though shown:
 * - a consumer still `joining` at start: services serve before their groups
 *   have joined on purpose (after a crash, joining waits for the dead
 *   member's session to expire; see service/consumers.ts);
 * - a consumer `restarting` (kafkajs rejoining by itself after a retriable
 *   error) and an outbox `retrying`: that is what a Kafka outage looks like
 *   on every instance at once. Failing readiness then would make Kubernetes
 *   and the gateway's health checks take every instance of every service out
 *   together, turning "events are delayed" into "the whole API is down" —
 *   while reads and most writes (their events wait in the outbox) still work.
 * A `stopped` consumer is this instance's own fault, so taking this instance
 * out is right; it lasts until the new consumer has joined.
 */
export interface ReadinessChecks {
  database: 'ok' | 'unreachable';
  outbox: 'running' | 'retrying' | 'stopped';
  consumers: Record<string, ConsumerState>;
}

export interface Readiness {
  ready: boolean;
  body: { status: 'ready' | 'not ready' | 'draining'; checks: ReadinessChecks };
}

export function assessReadiness(checks: ReadinessChecks, draining: boolean): Readiness {
  const ready =
    !draining &&
    checks.database === 'ok' &&
    checks.outbox !== 'stopped' &&
    Object.values(checks.consumers).every((state) => state !== 'stopped');
  return { ready, body: { status: draining ? 'draining' : ready ? 'ready' : 'not ready', checks } };
}
