import type { StepResult } from './load.ts';

/**
 * The highest arrival rate a gateway sustains (p99 within the limit, no
 * errors): double the rate from the start rate while it holds, then bisect
 * between the highest rate that held and the lowest that did not until they
 * are within `precision` of each other. When even the start rate fails, halve
 * it until one holds. A step that fails is run once more at the same rate and
 * the rate fails only when both do: one stall of a shared machine does not
 * decide the search (every gateway gets the same second chance). At most
 * `maxSteps` steps, so a run's length is bounded.
 */
export interface SearchSettings {
  start: number;
  max: number;
  precision: number;
  maxSteps: number;
}

export interface SearchOutcome {
  steps: StepResult[];
  /** The highest step that held; undefined when none did. */
  sustained?: StepResult;
  /** The lowest step that failed above it; undefined when the maximum held. */
  failed?: StepResult;
}

export async function searchSustainedRate(
  settings: SearchSettings,
  runAt: (rate: number) => Promise<StepResult>,
): Promise<SearchOutcome> {
  const steps: StepResult[] = [];
  let held: StepResult | undefined;
  let failed: StepResult | undefined;
  let rate = settings.start;
  while (steps.length < settings.maxSteps) {
    let step = await runAt(rate);
    steps.push(step);
    if (!step.sustained && steps.length < settings.maxSteps) {
      step = await runAt(rate);
      steps.push(step);
    }
    if (step.sustained) held = step;
    else failed = step;
    let next: number;
    if (held && failed) {
      if (failed.rate / held.rate <= 1 + settings.precision) break;
      next = Math.round((held.rate + failed.rate) / 2);
    } else if (held) {
      if (held.rate >= settings.max) break;
      next = Math.min(settings.max, held.rate * 2);
    } else {
      next = Math.floor(failed!.rate / 2);
      if (next < 1) break;
    }
    if (next === rate || (held && next === held.rate) || (failed && next === failed.rate)) break;
    rate = next;
  }
  return {
    steps,
    ...(held ? { sustained: held } : {}),
    ...(failed && (!held || failed.rate > held.rate) ? { failed } : {}),
  };
}
