import type { Value } from '../config-space/index.js';

/**
 * Parameter importance by PED-ANOVA (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently Quantifying
 * Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023), as Optuna's
 * PedAnovaImportanceEvaluator computes it: a parameter matters as much as the distribution of its
 * values among the top γ of the trials differs from their distribution among all trials, measured
 * by the Pearson divergence Σ p_all (p_top / p_all − 1)² of the two densities (Parzen estimates:
 * Gaussian kernels with Scott's bandwidth on a 50-point grid, in log space for a log parameter;
 * counts with add-one smoothing for a choice). Importances are normalised to sum to 1.
 */

export interface ImportanceParameter {
  name: string;
  log: boolean;
  /** A choice's values (undefined: numeric). */
  values?: readonly Value[];
}

export interface ImportanceResult {
  /** By parameter, most important first. */
  importances: { name: string; importance: number }[];
  /** The trials it was computed on, and the top quantile's size. */
  trials: number;
  top: number;
  method: string;
}

export const IMPORTANCE_METHOD = 'PED-ANOVA (top 10 % of the feasible trials against all of them; Pearson divergence of Parzen estimates)';
export const TOP_QUANTILE = 0.1;
const GRID = 50;
const EPS = 1e-12;
/** Fewer trials than this: no estimate (the top quantile would hold one or two). */
export const MIN_TRIALS = 20;

function divergence(pTop: readonly number[], pAll: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < pAll.length; i++) d += pAll[i] * (pTop[i] / pAll[i] - 1) ** 2;
  return d;
}

const normalise = (p: number[]) => {
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s + EPS);
};

/** Gaussian kernel density on a grid, Scott's rule for the bandwidth (range/10 when the values do not spread). */
function parzen(xs: readonly number[], grid: readonly number[], range: number): number[] {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, n - 1));
  const h = Math.max(sd * n ** -0.2, range / 100) || 1;
  return normalise(grid.map((g) => xs.reduce((a, x) => a + Math.exp(-0.5 * ((g - x) / h) ** 2), 0)));
}

function categorical(xs: readonly Value[], values: readonly Value[]): number[] {
  const counts = values.map((v) => xs.filter((x) => x === v).length + 1);
  return normalise(counts);
}

/** Importance of each parameter from trials' configs and values (feasible, observed trials only). */
export function pedAnova(parameters: readonly ImportanceParameter[], trials: readonly { config: Record<string, Value>; value: number }[], mode: 'min' | 'max'): ImportanceResult | undefined {
  const usable = trials.filter((t) => Number.isFinite(t.value));
  if (usable.length < MIN_TRIALS) return undefined;
  const sorted = [...usable].sort((a, b) => (mode === 'min' ? a.value - b.value : b.value - a.value));
  const top = sorted.slice(0, Math.max(2, Math.ceil(sorted.length * TOP_QUANTILE)));
  const raw = parameters.map((p) => {
    if (p.values) return { name: p.name, d: divergence(categorical(top.map((t) => t.config[p.name]), p.values), categorical(usable.map((t) => t.config[p.name]), p.values)) };
    const x = (t: { config: Record<string, Value> }) => {
      const v = Number(t.config[p.name]);
      return p.log ? Math.log(v) : v;
    };
    const all = usable.map(x).filter(Number.isFinite);
    const best = top.map(x).filter(Number.isFinite);
    // a loop, not Math.min(...all): a spread of 100,000 arguments overflows the stack
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of all) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    if (!(hi > lo) || best.length === 0) return { name: p.name, d: 0 };
    const grid = Array.from({ length: GRID }, (_, i) => lo + ((hi - lo) * i) / (GRID - 1));
    return { name: p.name, d: divergence(parzen(best, grid, hi - lo), parzen(all, grid, hi - lo)) };
  });
  const total = raw.reduce((a, r) => a + r.d, 0);
  const importances = raw.map((r) => ({ name: r.name, importance: total > 0 ? r.d / total : 0 })).sort((a, b) => b.importance - a.importance);
  return { importances, trials: usable.length, top: top.length, method: IMPORTANCE_METHOD };
}
