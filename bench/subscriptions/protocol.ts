/**
 * The messages between the bench (which drives the orders and keeps the
 * ledger) and its client process (which holds the sockets), over Node's IPC
 * channel. Times are wall-clock milliseconds with sub-millisecond precision
 * (`performance.timeOrigin + performance.now()`), comparable across the two
 * processes of one machine.
 */
export interface ClientSocketPlan {
  /** The customer whose token opens the socket (index into the seeded customers). */
  customer: number;
  token: string;
  /** The orders to watch at once, then the spares: when a watched order ends (DELIVERED), the next spare is watched. */
  orders: string[];
  /** Subscriptions open at once on this socket. */
  open: number;
  /** An order of another customer this socket also asks for: it must be refused, and must deliver nothing. */
  foreign?: string;
}

export type ToClients =
  { type: 'start'; wsUrl: string; sockets: ClientSocketPlan[]; concurrency: number } | { type: 'stop' };

export interface ReceivedEvent {
  socket: number;
  /** The order the subscription asked for. */
  watched: string;
  /** What arrived. */
  id: string;
  status: string;
  version: number;
  at: number;
}

export type FromClients =
  | { type: 'subscribed'; socket: number; order: string }
  | { type: 'opened'; sockets: number; subscriptions: number; seconds: number }
  | { type: 'events'; events: ReceivedEvent[] }
  | { type: 'completed'; socket: number; order: string }
  /** A socket or operation the gateway closed or refused when it should not have. */
  | { type: 'failure'; socket: number; what: string }
  /** The foreign-order probe: refused with this code, or (a leak) answered. */
  | { type: 'probe'; outcome: string; leaked: boolean }
  | { type: 'stopped'; open: number };

export const now = () => performance.timeOrigin + performance.now();
