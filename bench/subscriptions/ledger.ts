import { percentile } from '../mix/load.ts';
import type { ReceivedEvent } from './protocol.ts';

/**
 * Every status change the bench caused and every event the apps received,
 * matched one to one. An event must be the watched order's own (never
 * another order, never an order another customer owns), follow the last one
 * of its subscription without a gap or a repeat, carry the status its
 * version stands for, and answer a change the bench made; a change nobody
 * received by the end is missed. Latency runs from the mutation's send, and
 * is also kept from its answer (the event may arrive first: then it is
 * negative).
 */
export const STATUS_AT_VERSION: Record<number, string> = { 3: 'PAID', 4: 'SHIPPED', 5: 'DELIVERED' };
/** The seeded orders are CONFIRMED, version 2. */
export const FIRST_VERSION = 2;

interface Change {
  sentAt: number;
  answeredAt?: number;
}

export interface LedgerSummary {
  changes: number;
  received: number;
  /** Events of changes whose mutation failed or timed out for the bench but committed all the same. */
  late: number;
  missed: number;
  /** Events that broke a rule, with what was wrong (the first few). */
  violations: number;
  violationSamples: string[];
  fromSend: { p50Ms: number; p99Ms: number; maxMs: number };
  fromAnswer: { p50Ms: number; p99Ms: number; maxMs: number };
}

export class Ledger {
  private readonly pending = new Map<string, Change>();
  private readonly last = new Map<string, number>();
  private readonly fromSend: number[] = [];
  private readonly fromAnswer: number[] = [];
  private changes = 0;
  private received = 0;
  private violations = 0;
  private readonly samples: string[] = [];
  /** Latencies count only between `measuring` and its end (the warm-up's events are checked, not timed). */
  measuring = false;

  /** `ownerOf(order)`: the customer who owns it; `customerOf(socket)`: whose app the socket is. */
  constructor(
    private readonly ownerOf: (order: string) => number | undefined,
    private readonly customerOf: (socket: number) => number,
  ) {}

  sent(order: string, version: number, at: number): void {
    this.pending.set(`${order}:${version}`, { sentAt: at });
    this.changes++;
  }

  answered(order: string, version: number, at: number): void {
    const change = this.pending.get(`${order}:${version}`);
    if (change) change.answeredAt = at;
    else this.timeFromAnswer(order, version, at);
  }

  private readonly early = new Map<string, number>();
  /** The event came before the answer: its latency from the answer is known now. */
  private timeFromAnswer(order: string, version: number, answeredAt: number) {
    const key = `${order}:${version}`;
    const receivedAt = this.early.get(key);
    if (receivedAt === undefined) return;
    this.early.delete(key);
    if (this.measuring) this.fromAnswer.push(receivedAt - answeredAt);
  }

  /**
   * A mutation that failed or timed out may still have changed the order (a timeout does not undo a commit):
   * its event is not expected, but is no violation if it comes; then it counts, timed from the send.
   */
  failed(order: string, version: number): void {
    const key = `${order}:${version}`;
    const change = this.pending.get(key);
    if (!change) return;
    this.pending.delete(key);
    this.uncertain.set(key, change);
    this.changes--;
  }

  private readonly uncertain = new Map<string, Change>();
  private late = 0;

  receive(event: ReceivedEvent): void {
    const problem = this.check(event);
    if (problem) {
      this.violations++;
      if (this.samples.length < 5) this.samples.push(problem);
      return;
    }
    this.last.set(event.watched, event.version);
    const key = `${event.id}:${event.version}`;
    const change = this.pending.get(key) ?? this.uncertain.get(key)!;
    if (this.pending.delete(key)) this.received++;
    else {
      this.uncertain.delete(key);
      this.late++;
    }
    if (!this.measuring) return;
    this.fromSend.push(event.at - change.sentAt);
    if (change.answeredAt !== undefined) this.fromAnswer.push(event.at - change.answeredAt);
    else this.early.set(key, event.at);
  }

  private check(event: ReceivedEvent): string | undefined {
    const what = `socket ${event.socket} watching ${event.watched} got ${event.id} ${event.status} v${event.version}`;
    if (event.id !== event.watched) return `${what}: another order than the one it watches`;
    const owner = this.ownerOf(event.id);
    if (owner !== this.customerOf(event.socket))
      return `${what}: the order is customer ${owner}'s, the socket customer ${this.customerOf(event.socket)}'s`;
    const expected = (this.last.get(event.watched) ?? FIRST_VERSION) + 1;
    if (event.version !== expected) return `${what}: expected version ${expected} (a gap or a repeat)`;
    if (STATUS_AT_VERSION[event.version] !== event.status)
      return `${what}: version ${event.version} is ${STATUS_AT_VERSION[event.version]}`;
    const key = `${event.id}:${event.version}`;
    if (!this.pending.has(key) && !this.uncertain.has(key)) return `${what}: a change the bench did not make`;
    return undefined;
  }

  /** Changes made and not yet received. */
  outstanding(): number {
    return this.pending.size;
  }

  summary(): LedgerSummary {
    const stats = (values: number[]) => ({
      p50Ms: percentile(values, 50),
      p99Ms: percentile(values, 99),
      maxMs: percentile(values, 100),
    });
    return {
      changes: this.changes,
      received: this.received,
      late: this.late,
      missed: this.pending.size,
      violations: this.violations,
      violationSamples: this.samples,
      fromSend: stats(this.fromSend),
      fromAnswer: stats(this.fromAnswer),
    };
  }
}
