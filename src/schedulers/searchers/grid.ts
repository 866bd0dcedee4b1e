import { type Config, type ConfigSpace, type Domain, type Value, conditionHolds, hasConditions, hyperparameters, isDomain, parameterOrder } from '../../config-space/index.js';
import { ConfigSpaceError } from '../../config-space/index.js';
import { mix32 } from '../../util/rng.js';
import type { SearchProblem, Searcher } from '../types.js';

export interface GridSearcherOptions {
  /** Points per continuous domain, and at most this many per integer range (default 5). */
  numPoints?: number;
}

/** A grid of more points than this cannot be indexed exactly by a double. */
const MAX_GRID = 2 ** 52;
/** A conditional space's grid is listed point by point: at most this many. */
const MAX_CONDITIONAL_GRID = 1_000_000;

/**
 * Every valid grid point of a conditional space, each once: the hyperparameters in condition order,
 * an inactive one left out (not set to each of its values in turn, which would repeat the point).
 */
export function conditionalGrid(space: ConfigSpace, axes: ReadonlyMap<string, readonly Value[]>): Config[] {
  const order = parameterOrder(space);
  const out: Config[] = [];
  const visit = (i: number, config: Config): void => {
    if (out.length > MAX_CONDITIONAL_GRID) throw new ConfigSpaceError(`grid: more than ${MAX_CONDITIONAL_GRID} valid points in this conditional space; use fewer points or another method`);
    if (i === order.length) {
      out.push(Object.fromEntries(Object.keys(space).filter((k) => k in config).map((k) => [k, config[k]])));
      return;
    }
    const name = order[i];
    const d = space[name];
    if (!conditionHolds(d, config)) return visit(i + 1, config);
    if (!isDomain(d)) return visit(i + 1, { ...config, [name]: d });
    for (const v of axes.get(name)!) visit(i + 1, { ...config, [name]: v });
  };
  visit(0, {});
  return out;
}

/**
 * The grid values of one domain: every value of choice, ordinal and finrange domains; `k` evenly
 * spaced points (on the log scale for log domains, ends included) of a continuous domain; the same
 * rounded (and deduplicated) for an integer range of more than `k` values.
 */
export function gridValues(domain: Domain, k: number): Value[] {
  const json = domain.toJSON();
  if (json.type === 'choice' || json.type === 'ordinal' || json.type === 'finrange' || json.type === 'logfinrange') return [...domain.finiteValues!];
  const { lower, upper } = json as { lower: number; upper: number };
  const int = json.type === 'randint' || json.type === 'lograndint';
  if (int && upper - lower + 1 <= k) return [...domain.finiteValues!];
  const log = json.type === 'loguniform' || json.type === 'lograndint';
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const t = k === 1 ? 0.5 : i / (k - 1);
    const x = log ? Math.exp(Math.log(lower) + t * (Math.log(upper) - Math.log(lower))) : lower + t * (upper - lower);
    const v = int ? Math.round(x) : Math.min(upper, Math.max(lower, Number(x.toPrecision(12))));
    if (out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

/**
 * A seeded bijection of [0, n): a 4-round Feistel network on the smallest even-bit power of two
 * ≥ n, cycle-walked back into range (fewer than 4 steps on average). The grid is visited in this
 * order without materialising it, so a grid of millions of points costs nothing up front.
 */
export class SeededPermutation {
  private readonly halfBits: number;
  private readonly mask: number;

  constructor(
    readonly n: number,
    readonly keys: readonly number[],
  ) {
    const bits = Math.max(2, Math.ceil(Math.log2(Math.max(2, n))));
    this.halfBits = Math.ceil(bits / 2);
    this.mask = 2 ** this.halfBits - 1;
  }

  at(i: number): number {
    let x = i;
    do x = this.round(x);
    while (x >= this.n);
    return x;
  }

  private round(x: number): number {
    const h = 2 ** this.halfBits;
    let left = Math.floor(x / h);
    let right = x % h;
    for (const key of this.keys) {
      const f = mix32((right ^ key) >>> 0) & this.mask;
      [left, right] = [right, (left ^ f) >>> 0];
    }
    return left * h + right;
  }
}

/**
 * Grid search: the Cartesian product of each hyperparameter's grid values (see gridValues), or the
 * table's configs with `restrictTo`, each proposed once in a seeded order; undefined once done.
 */
export class GridSearcher implements Searcher {
  private readonly axes: [string, Value[]][];
  /** a conditional space's valid points, listed (else points are indexed in the product of the axes) */
  private readonly points: Config[] | undefined;
  private readonly size: number;
  private perm: SeededPermutation;
  private next = 0;
  private readonly numPoints: number;

  constructor(
    private readonly problem: SearchProblem,
    options: GridSearcherOptions = {},
  ) {
    this.numPoints = options.numPoints ?? 5;
    if (!Number.isInteger(this.numPoints) || this.numPoints < 1) throw new ConfigSpaceError(`grid: numPoints must be an integer >= 1, got ${this.numPoints}`);
    this.axes = hyperparameters(problem.configSpace).map(([name, d]) => [name, gridValues(d, this.numPoints)]);
    this.points = !problem.restrictTo && hasConditions(problem.configSpace) ? conditionalGrid(problem.configSpace, new Map(this.axes)) : undefined;
    this.size = problem.restrictTo ? problem.restrictTo.length : this.points ? this.points.length : this.axes.reduce((n, [, v]) => n * v.length, 1);
    if (this.size > MAX_GRID) throw new ConfigSpaceError(`grid: ${this.size} points is too many to enumerate (at most 2^52); use fewer points or another method`);
    const { rng } = problem;
    this.perm = new SeededPermutation(this.size, Array.from({ length: 4 }, () => Math.floor(rng.next() * 2 ** 32)));
  }

  /** The grid point with index i (mixed radix over the axes, the last one fastest). */
  private point(i: number): Config {
    if (this.problem.restrictTo) return { ...this.problem.restrictTo[i] };
    if (this.points) return { ...this.points[i] };
    const config: Config = {};
    for (const [name, d] of Object.entries(this.problem.configSpace)) if (!isDomain(d)) config[name] = d;
    let rest = i;
    for (let a = this.axes.length - 1; a >= 0; a--) {
      const [name, values] = this.axes[a];
      config[name] = values[rest % values.length];
      rest = Math.floor(rest / values.length);
    }
    return config;
  }

  suggest(): Config | undefined {
    if (this.next >= this.size) return undefined;
    return this.point(this.perm.at(this.next++));
  }

  onTrialResult(): void {}
  onTrialIdle(): void {}
  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'grid', num_points: this.numPoints, grid_size: this.size, restricted_to_table: Boolean(this.problem.restrictTo) };
  }

  state() {
    return { next: this.next, keys: [...this.perm.keys] };
  }

  restore(state: unknown): void {
    const s = state as { next: number; keys: number[] };
    this.next = s.next;
    this.perm = new SeededPermutation(this.size, s.keys);
  }
}
