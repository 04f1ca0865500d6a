/**
 * Picks the instance of a subgraph for the next fetch: smooth weighted
 * round-robin (nginx's algorithm) over the instances currently up. With equal
 * weights it is plain round-robin; with weights 3:1 it sends a a b a, a a b a,
 * … — spread out, not in bursts. Hand-written: a dozen lines, and the
 * balancing libraries on npm each bring their own HTTP client or proxy.
 *
 * Health is two-sided: `markDown` on a connect failure or a timeout (passive),
 * `markUp` when a health check passes or a fetch succeeds. When no instance is
 * up, `pick` still returns one (rotating over all) so a recovered instance is
 * noticed by the traffic itself, not only by the next health check.
 */
export interface Balanced {
  readonly weight: number;
}

interface Slot<T> {
  instance: T;
  up: boolean;
  /** SWRR state: grows by `weight` each pick, drops by the total when chosen. */
  current: number;
}

export class Balancer<T extends Balanced> {
  private readonly slots: Slot<T>[];
  private readonly byInstance: Map<T, Slot<T>>;

  constructor(instances: readonly T[]) {
    if (instances.length === 0) throw new Error('a balancer needs at least one instance');
    this.slots = instances.map((instance) => ({ instance, up: true, current: 0 }));
    this.byInstance = new Map(this.slots.map((slot) => [slot.instance, slot]));
  }

  /**
   * The next instance that is up (other than `except`); when none is up and
   * no `except` is given, any. Only instances `admits` accepts are considered
   * (the transport passes its circuit breakers': an open one takes nothing).
   */
  pick(except?: T, admits?: (instance: T) => boolean): T | undefined {
    return this.choose(true, except, admits) ?? (except ? undefined : this.choose(false, undefined, admits));
  }

  /** Whether some instance other than `instance` is up. */
  hasOtherUp(instance: T): boolean {
    return this.slots.some((slot) => slot.up && slot.instance !== instance);
  }

  isUp(instance: T): boolean {
    return this.slot(instance).up;
  }

  markUp(instance: T): void {
    this.slot(instance).up = true;
  }

  markDown(instance: T): void {
    this.slot(instance).up = false;
  }

  private choose(
    upOnly: boolean,
    except: T | undefined,
    admits: ((instance: T) => boolean) | undefined,
  ): T | undefined {
    let best: Slot<T> | undefined;
    let total = 0;
    for (const slot of this.slots) {
      if ((upOnly && !slot.up) || slot.instance === except || (admits && !admits(slot.instance))) continue;
      slot.current += slot.instance.weight;
      total += slot.instance.weight;
      if (!best || slot.current > best.current) best = slot;
    }
    if (best) best.current -= total;
    return best?.instance;
  }

  private slot(instance: T): Slot<T> {
    const slot = this.byInstance.get(instance);
    if (!slot) throw new Error('not an instance of this balancer');
    return slot;
  }
}
