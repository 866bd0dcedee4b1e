import type { Mode } from './types.js';

/**
 * An outcome constraint (SigOpt's `strategy: constraint`): a result is feasible when `metric` is at
 * most `threshold` (mode 'min', objective minimize) or at least `threshold` (mode 'max').
 */
export interface Constraint {
  metric: string;
  mode: Mode;
  threshold: number;
}

/** True when every constraint holds; a missing or NaN constraint value is infeasible. */
export function isFeasible(metrics: Readonly<Record<string, number | string | null | undefined>>, constraints: readonly Constraint[] | undefined): boolean {
  if (!constraints) return true;
  for (const c of constraints) {
    const v = metrics[c.metric];
    if (typeof v !== 'number' || Number.isNaN(v)) return false;
    if (c.mode === 'min' ? v > c.threshold : v < c.threshold) return false;
  }
  return true;
}
