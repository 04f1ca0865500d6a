import { isDeepStrictEqual } from 'node:util';
import type { MixRequest } from './operations.ts';
import type { MixData, MixOrder } from './seed.ts';

/**
 * What an answer was, for the count: `ok` counts; `error` (non-200, GraphQL
 * errors, timeouts) fails the step, as overload does; `wrong` (data without
 * errors that is not the right data: another customer's order, a catalog page
 * other than the reference) fails the whole run — a faster wrong answer is not
 * a result.
 */
export type Verdict = { kind: 'ok' } | { kind: 'error'; why: string } | { kind: 'wrong'; why: string };

/** The reference answers of the public requests, per gateway: its exact text (fast path) and the canonical data. */
export interface Reference {
  text: Map<string, string>;
  canonical: Map<string, string>;
}

interface OrderNode {
  id: string;
  user?: { id: string } | null;
  items?: { quantity: number; product: { id?: string; name: string } }[];
}

interface AnswerData {
  me?: {
    id: string;
    orders?: { edges: { node: OrderNode }[] } | null;
  } | null;
  order?: OrderNode | null;
  placeOrder?: { id: string; status: string } | null;
  payOrder?: { id: string; status: string } | null;
}

interface Answer {
  data?: AnswerData | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const ok: Verdict = { kind: 'ok' };
const wrong = (why: string): Verdict => ({ kind: 'wrong', why });

export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/**
 * Checks answers against the seeded data and what the run itself placed.
 * Orders the run placed whose id has not come back yet may show up in a
 * history first; those are remembered and checked when the run ends.
 */
export class AnswerChecker {
  /** Order ids seen in a customer's answers before the run knew them: [customer, order id]. */
  private unknown: [number, string][] = [];
  private readonly productNames: Map<string, string>;

  constructor(
    private readonly data: MixData,
    private readonly reference: Reference,
  ) {
    this.productNames = new Map(data.products.map((p) => [p.id, p.name]));
  }

  check(request: MixRequest, status: number, text: string): Verdict {
    if (status !== 200) return { kind: 'error', why: `HTTP ${status}: ${text.slice(0, 200)}` };
    if (request.referenceKey && this.reference.text.get(request.referenceKey) === text) return ok;
    let answer: Answer;
    try {
      answer = JSON.parse(text) as Answer;
    } catch {
      return { kind: 'error', why: `not JSON: ${text.slice(0, 200)}` };
    }
    if (answer.errors?.length)
      return {
        kind: 'error',
        why: `${answer.errors[0]!.extensions?.code ?? 'error'}: ${answer.errors[0]!.message}`.slice(0, 200),
      };
    if (!answer.data) return wrong('no data and no errors');
    if (request.referenceKey) {
      const expected = this.reference.canonical.get(request.referenceKey);
      return expected === canonical(answer.data)
        ? ok
        : wrong(`${request.referenceKey}: other data than the reference: ${text.slice(0, 300)}`);
    }
    const customer = this.data.customers[request.customer]!;
    const d = answer.data;
    switch (request.kind) {
      case 'profile':
        return isDeepStrictEqual(d.me, {
          id: customer.id,
          name: customer.name,
          email: customer.email,
          emailNotifications: true,
        })
          ? ok
          : wrong(`profile of customer ${customer.id}: ${text.slice(0, 300)}`);
      case 'history': {
        if (d.me?.id !== customer.id) return wrong(`history of ${customer.id} answered for ${String(d.me?.id)}`);
        for (const { node } of d.me.orders?.edges ?? []) {
          if (node.user?.id !== customer.id)
            return wrong(`history of ${customer.id} holds order ${node.id} of ${String(node.user?.id)}`);
          const verdict = this.ownOrder(request.customer, node);
          if (verdict.kind !== 'ok') return verdict;
        }
        return ok;
      }
      case 'order': {
        const asked = request.orderId!;
        const order = d.order;
        if (!order || order.id !== asked) return wrong(`order ${asked} answered as ${String(order?.id)}`);
        if (order.user?.id !== customer.id)
          return wrong(`customer ${customer.id} was shown order ${asked} of ${String(order.user?.id)}`);
        return this.ownOrder(request.customer, order);
      }
      case 'placeOrder':
        return typeof d.placeOrder?.id === 'string' && d.placeOrder.status === 'PENDING'
          ? ok
          : wrong(`placeOrder answered ${text.slice(0, 200)}`);
      case 'payOrder':
        return d.payOrder?.id === request.paid!.id && d.payOrder.status === 'PAID'
          ? ok
          : wrong(`payOrder of ${request.paid!.id} answered ${text.slice(0, 200)}`);
      default:
        return wrong(`no check for ${request.kind}`);
    }
  }

  /** An order in a customer's answer: theirs, with the lines it was placed with. */
  private ownOrder(customer: number, node: OrderNode): Verdict {
    const known: MixOrder | undefined = this.data.orders.get(node.id);
    if (!known) {
      this.unknown.push([customer, node.id]);
      return ok;
    }
    if (known.customer !== customer)
      return wrong(`customer ${this.data.customers[customer]!.id} was shown order ${node.id} of another customer`);
    const items = node.items ?? [];
    const same =
      items.length === known.items.length &&
      items.every(
        (item, i) =>
          item.quantity === known.items[i]!.quantity &&
          (item.product.id === undefined || item.product.id === known.items[i]!.productId) &&
          item.product.name === this.productNames.get(known.items[i]!.productId),
      );
    return same ? ok : wrong(`order ${node.id}: other lines than were placed: ${JSON.stringify(items).slice(0, 300)}`);
  }

  /**
   * At the end: every order that showed up before its id came back must be
   * that customer's. An id the run never learnt (its placeOrder timed out for
   * the bench but committed) is asked of `ownersOf` — the orders table, the
   * truth — rather than taken for a leak.
   */
  async unresolved(ownersOf: (ids: string[]) => Promise<Map<string, string>>): Promise<string[]> {
    const pending = this.unknown;
    this.unknown = [];
    const neverLearnt = [...new Set(pending.filter(([, id]) => !this.data.orders.has(id)).map(([, id]) => id))];
    const owners = neverLearnt.length ? await ownersOf(neverLearnt) : new Map<string, string>();
    return pending
      .filter(([customer, id]) => {
        const known = this.data.orders.get(id);
        return known ? known.customer !== customer : owners.get(id) !== this.data.customers[customer]!.id;
      })
      .map(
        ([customer, id]) =>
          `customer ${this.data.customers[customer]!.id} was shown order ${id}, which they did not place`,
      );
  }
}
