import { type Config, type Domain, activeConfig, hyperparameters, isDomain } from '../../config-space/index.js';
import type { Rng } from '../../util/rng.js';
import { randomNormal } from '../../util/rng.js';
import { insertSorted } from '../../util/sorted.js';
import type { SearchProblem, Searcher } from '../types.js';
import { RandomSearcher } from './random.js';

export interface KDESearcherOptions {
  /** Share of suggestions drawn at random whatever the model (BOHB: 1/3). */
  randomFraction?: number;
  /** Percentage of a level's observations in the good density (BOHB: 15). */
  topNPercent?: number;
  /** Candidates drawn from the good density per suggestion (BOHB: 64). */
  numCandidates?: number;
  /** Candidates are drawn with the good density's bandwidths times this (BOHB: 3). */
  bandwidthFactor?: number;
  /** Smallest bandwidth (BOHB: 1e-3). */
  minBandwidth?: number;
  /** Fewest points of each density (BOHB: the number of hyperparameters + 1). */
  minPointsInModel?: number;
}

/** One hyperparameter as the KDE sees it: a position in [0, 1] (the domain's encoding) or a category index. */
interface KdeParam {
  name: string;
  domain: Domain;
  /** number of categories of a `choice`, else 0 (numeric) */
  categories: number;
}

interface LevelObservation {
  id: number;
  x: Float64Array;
  y: number;
}
const betterObservation = (a: LevelObservation, b: LevelObservation) => a.y < b.y || (a.y === b.y && a.id < b.id);

/** A dimension whose data take at most this many distinct values has its kernel values tabulated per query (a look-up per point, no exp). */
const MAX_TABULATED_VALUES = 64;

/** A product-kernel density over the good or bad observations of one level (statsmodels' KDEMultivariate with normal-reference bandwidths). */
export class ProductKDE {
  readonly bandwidths: Float64Array;
  /**
   * per dimension with few distinct data values (finite domains): those values, and each point's
   * index among them; the kernel of a query is then computed once per distinct value, not per point
   */
  private readonly distinct: (Float64Array | undefined)[];
  private readonly codes: (Uint8Array | undefined)[];

  constructor(
    readonly params: readonly KdeParam[],
    readonly data: readonly Float64Array[],
    minBandwidth: number,
  ) {
    const n = data.length;
    const d = params.length;
    // normal reference rule: 1.06 · sd · n^(-1/(4 + d)), floored at the minimum bandwidth
    this.bandwidths = Float64Array.from(params, (p, i) => {
      let mean = 0;
      for (const x of data) mean += x[i];
      mean /= n;
      let v = 0;
      for (const x of data) v += (x[i] - mean) ** 2;
      const bw = Math.max(minBandwidth, 1.06 * Math.sqrt(v / n) * Math.pow(n, -1 / (4 + d)));
      // Aitchison-Aitken kernels stop favouring the centre at (c − 1)/c
      return p.categories > 0 ? Math.min(bw, (p.categories - 1) / p.categories) : bw;
    });
    this.distinct = [];
    this.codes = [];
    for (let i = 0; i < d; i++) {
      const index = new Map<number, number>();
      const codes = new Uint8Array(n);
      let r = 0;
      for (; r < n && index.size <= MAX_TABULATED_VALUES; r++) {
        const v = data[r][i];
        let c = index.get(v);
        if (c === undefined) index.set(v, (c = index.size));
        codes[r] = c;
      }
      const few = index.size <= MAX_TABULATED_VALUES;
      this.distinct.push(few ? Float64Array.from(index.keys()) : undefined);
      this.codes.push(few ? codes : undefined);
    }
  }

  /** One dimension's kernel at query value q centred on data value xi (the same arithmetic for tabulated and direct dimensions). */
  private kernel(i: number, q: number, xi: number): number {
    const bw = this.bandwidths[i];
    const p = this.params[i];
    if (p.categories > 0) return q === xi ? 1 - bw : bw / (p.categories - 1);
    const z = (q - xi) / bw;
    return Math.exp(-0.5 * z * z) / (bw * Math.sqrt(2 * Math.PI));
  }

  /** The density at x; a coordinate that is NaN (inactive in x's config) is left out of the product. */
  pdf(x: Float64Array): number {
    const d = this.params.length;
    const tables = this.distinct.map((values, i) => (values && !Number.isNaN(x[i]) ? values.map((v) => this.kernel(i, x[i], v)) : undefined));
    let total = 0;
    const n = this.data.length;
    for (let r = 0; r < n; r++) {
      const xi = this.data[r];
      let k = 1;
      for (let i = 0; i < d; i++) {
        if (Number.isNaN(x[i])) continue;
        const table = tables[i];
        k *= table ? table[this.codes[i]![r]] : this.kernel(i, x[i], xi[i]);
      }
      total += k;
    }
    return total / n;
  }
}

/**
 * The points with every inactive coordinate (NaN) filled as BOHB does (hpbandster's
 * impute_conditional_data): the value of a random other point of the set where it is active, else a
 * random value of the hyperparameter. Points without NaN are returned as they are.
 */
export function imputeInactive(points: readonly Float64Array[], params: readonly KdeParam[], rng: Rng): Float64Array[] {
  const out = [...points];
  params.forEach((p, i) => {
    let donors: number[] | undefined;
    for (let r = 0; r < out.length; r++) {
      if (!Number.isNaN(out[r][i])) continue;
      donors ??= points.flatMap((o, k) => (Number.isNaN(o[i]) ? [] : [k]));
      if (out[r] === points[r]) out[r] = Float64Array.from(points[r]);
      out[r][i] = donors.length ? points[donors[Math.floor(rng.next() * donors.length)]][i] : p.categories > 0 ? Math.floor(rng.next() * p.categories) : rng.next();
    }
  });
  return out;
}

/**
 * BOHB's searcher (Falkner et al. 2018), for a hyperband scheduler: results are kept per rung level;
 * a suggestion is random with probability randomFraction (1/3), else drawn from a model of the
 * largest level holding at least minPointsInModel + 2 results: the best topNPercent (15 %, at least
 * minPointsInModel) form the good density l, the next ones the bad density g; 64 candidates are drawn
 * around random good points with 3 × l's bandwidths and the one with the largest l/g proposed.
 * Before any level has enough points, suggestions are random. Running trials are not modelled
 * (as in BOHB). With a table, the candidates are 64 random unused rows. Conditional spaces as in
 * BOHB: an inactive hyperparameter is imputed in the densities' data (imputeInactive), left out of a
 * candidate's density, and dropped from the proposed config.
 */
export class KDESearcher implements Searcher {
  private readonly random: RandomSearcher;
  private readonly params: KdeParam[];
  /** per level: the results there (encoded config, signed value), kept sorted best first as they arrive */
  private readonly levels = new Map<number, LevelObservation[]>();
  /** per level: the trials with a result there */
  private readonly recorded = new Map<number, Set<number>>();
  private readonly configs = new Map<number, Config>();
  private readonly sign: number;
  private readonly o: Required<KDESearcherOptions>;

  constructor(
    private readonly problem: SearchProblem,
    /** the rung levels and the maximal resource: where results enter the model */
    private readonly levelValues: readonly number[],
    options: KDESearcherOptions = {},
  ) {
    this.random = new RandomSearcher(problem);
    this.params = hyperparameters(problem.configSpace).map(([name, domain]) => ({ name, domain, categories: domain.kind === 'choice' ? domain.finiteValues!.length : 0 }));
    this.sign = problem.mode === 'min' ? 1 : -1;
    this.o = {
      randomFraction: options.randomFraction ?? 1 / 3,
      topNPercent: options.topNPercent ?? 15,
      numCandidates: options.numCandidates ?? 64,
      bandwidthFactor: options.bandwidthFactor ?? 3,
      minBandwidth: options.minBandwidth ?? 1e-3,
      minPointsInModel: options.minPointsInModel ?? this.params.length + 1,
    };
  }

  /** The config's coordinates; NaN for a hyperparameter inactive in it. */
  private encode(config: Config): Float64Array {
    const enc = new Float64Array(1);
    return Float64Array.from(this.params, (p) => {
      if (!(p.name in config)) return NaN;
      if (p.categories > 0) return p.domain.finiteValues!.indexOf(config[p.name]);
      p.domain.encode(config[p.name], enc, 0);
      return enc[0];
    });
  }

  private decode(x: Float64Array): Config {
    const config: Config = {};
    for (const [name, d] of Object.entries(this.problem.configSpace)) if (!isDomain(d)) config[name] = d;
    this.params.forEach((p, i) => (config[p.name] = p.categories > 0 ? p.domain.finiteValues![x[i]] : p.domain.decode(x, i)));
    return activeConfig(this.problem.configSpace, Object.fromEntries(Object.keys(this.problem.configSpace).map((k) => [k, config[k]])));
  }

  /** The level the model is built on: the largest with at least minPointsInModel + 2 results, if any. */
  modelLevel(): number | undefined {
    let best: number | undefined;
    for (const [level, obs] of this.levels) if (obs.length >= this.o.minPointsInModel + 2 && (best === undefined || level > best)) best = level;
    return best;
  }

  /** The good and bad densities of a level. */
  densities(level: number): { good: ProductKDE; bad: ProductKDE } {
    const obs = this.levels.get(level)!;
    const n = obs.length;
    const nGood = Math.max(this.o.minPointsInModel, Math.floor((this.o.topNPercent * n) / 100));
    const nBad = Math.max(this.o.minPointsInModel, Math.floor(((100 - this.o.topNPercent) * n) / 100));
    const { rng } = this.problem;
    const good = imputeInactive(obs.slice(0, nGood).map((o) => o.x), this.params, rng);
    const bad = imputeInactive(obs.slice(nGood, nGood + nBad).map((o) => o.x), this.params, rng);
    return { good: new ProductKDE(this.params, good, this.o.minBandwidth), bad: new ProductKDE(this.params, bad, this.o.minBandwidth) };
  }

  suggest(trialId: number): Config | undefined {
    const { rng } = this.problem;
    const level = this.modelLevel();
    let config: Config | undefined;
    // the random draw comes first, so that the share of random suggestions does not depend on the model
    if (rng.next() >= this.o.randomFraction && level !== undefined && this.params.length > 0) {
      config = this.modelSuggest(level);
      if (config && this.random.hasSeen(config)) config = undefined;
      if (config) this.random.markSeen(config);
    }
    config ??= this.random.suggest();
    if (config) this.configs.set(trialId, config);
    return config;
  }

  private modelSuggest(level: number): Config | undefined {
    const { good, bad } = this.densities(level);
    const { rng, restrictTo } = this.problem;
    const candidates: Float64Array[] = [];
    if (restrictTo) {
      const unused = restrictTo.filter((c) => !this.random.hasSeen(c));
      for (let i = 0; i < this.o.numCandidates && unused.length > 0; i++) candidates.push(this.encode(unused[Math.floor(rng.next() * unused.length)]));
    } else {
      for (let i = 0; i < this.o.numCandidates; i++) candidates.push(this.around(good, good.data[Math.floor(rng.next() * good.data.length)]));
    }
    let best: Float64Array | undefined;
    let bestScore = -Infinity;
    for (const x of candidates) {
      const score = good.pdf(x) / Math.max(bad.pdf(x), 1e-32);
      if (score > bestScore) {
        bestScore = score;
        best = x;
      }
    }
    return best && this.decode(best);
  }

  /** A point near `centre`: numeric positions from a normal truncated to [0, 1] with bandwidth × factor; a category kept with probability 1 − bandwidth. */
  private around(kde: ProductKDE, centre: Float64Array): Float64Array {
    const { rng } = this.problem;
    return Float64Array.from(this.params, (p, i) => {
      const bw = kde.bandwidths[i];
      if (p.categories > 0) return rng.next() < 1 - bw ? centre[i] : Math.floor(rng.next() * p.categories);
      const sd = bw * this.o.bandwidthFactor;
      for (let attempt = 0; attempt < 100; attempt++) {
        const v = centre[i] + sd * randomNormal(rng);
        if (v >= 0 && v <= 1) return v;
      }
      return centre[i];
    });
  }

  onTrialResult(trialId: number, resource: number, value: number): void {
    const config = this.configs.get(trialId);
    if (!config || !this.levelValues.includes(resource)) return;
    this.record(resource, { id: trialId, x: this.encode(config), y: this.sign * value });
  }

  private record(level: number, o: LevelObservation): void {
    let ids = this.recorded.get(level);
    if (!ids) this.recorded.set(level, (ids = new Set()));
    if (ids.has(o.id)) return;
    ids.add(o.id);
    let obs = this.levels.get(level);
    if (!obs) this.levels.set(level, (obs = []));
    insertSorted(obs, o, betterObservation);
  }

  onTrialIdle(): void {}
  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'bohb-kde', ...this.o };
  }

  state() {
    return { random: this.random.state(), configs: [...this.configs], levels: [...this.levels].map(([level, obs]) => [level, obs.map((o) => [o.id, o.y])]) };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; configs: [number, Config][]; levels: [number, [number, number][]][] };
    this.random.restore(s.random);
    this.configs.clear();
    for (const [id, c] of s.configs) this.configs.set(id, c);
    this.levels.clear();
    this.recorded.clear();
    for (const [level, obs] of s.levels) for (const [id, y] of obs) this.record(level, { id, x: this.encode(this.configs.get(id)!), y });
  }
}
