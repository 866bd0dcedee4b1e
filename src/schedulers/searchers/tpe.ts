import { type Config, type Domain, type Value, activeConfig, configKey, hyperparameters, isDomain } from '../../config-space/index.js';
import type { SearchProblem, Searcher } from '../types.js';
import { type ParzenDim, ParzenEstimator, type ParzenSettings, tpeGamma, tpeWeights } from './parzen.js';
import { RandomSearcher } from './random.js';
import { insertSorted, removeSorted } from '../../util/sorted.js';
import { combinationsBestFirst } from '../../util/best-first.js';

/** Combinations of the candidates looked at for an unseen config before a random one is taken (bounds a suggestion's cost when the space is nearly used up). */
const MAX_COMBINATIONS = 1000;

export interface TPESearcherOptions {
  /** Random configs until this many trials have an observation (Optuna: 10). */
  numStartupTrials?: number;
  /** Candidates drawn from the good density per suggestion, the best ratio kept (Optuna: 24). */
  numCandidates?: number;
  /** Prior kernel weight (Optuna: 1). */
  priorWeight?: number;
  /** Optuna's consider_magic_clip (default true). */
  magicClip?: boolean;
  /**
   * Joint Parzen estimators (Optuna's multivariate=True with group=True; default false): one per
   * group of hyperparameters that are active together (the same condition; the unconditional ones).
   */
  multivariate?: boolean;
  /** Running trials join the bad group (Optuna's constant_liar; tunelab's default true, Optuna's false). */
  constantLiar?: boolean;
}

/** A hyperparameter in TPE's internal representation: log for log domains, an index for finite ones. */
interface TpeParam {
  name: string;
  dim: ParzenDim;
  toInternal(v: Value): number;
  fromInternal(x: number): Value;
}

function tpeParam(name: string, domain: Domain): TpeParam {
  const json = domain.toJSON();
  switch (json.type) {
    case 'choice': {
      const values = json.values;
      return { name, dim: { kind: 'categorical', size: values.length }, toInternal: (v) => values.indexOf(v), fromInternal: (x) => values[x] };
    }
    case 'uniform':
    case 'loguniform': {
      const log = json.type === 'loguniform';
      const f = log ? Math.log : (x: number) => x;
      const { lower, upper } = json;
      return {
        name,
        dim: { kind: 'numeric', low: f(lower), high: f(upper), step: 0 },
        toInternal: (v) => f(v as number),
        fromInternal: (x) => Math.min(upper, Math.max(lower, log ? Math.exp(x) : x)),
      };
    }
    case 'randint':
      return { name, dim: { kind: 'numeric', low: json.lower, high: json.upper, step: 1 }, toInternal: (v) => v as number, fromInternal: (x) => x };
    case 'lograndint': {
      // Optuna's log-int treatment: continuous on [log(low − ½), log(high + ½)], rounded back
      const { lower, upper } = json;
      return {
        name,
        dim: { kind: 'numeric', low: Math.log(lower - 0.5), high: Math.log(upper + 0.5), step: 0 },
        toInternal: (v) => Math.log(v as number),
        fromInternal: (x) => Math.min(upper, Math.max(lower, Math.round(Math.exp(x)))),
      };
    }
    default: {
      // ordinal, finrange, logfinrange: ordered values, evenly spaced on their own scale: an integer index
      const values = domain.finiteValues!;
      const enc = new Float64Array(1);
      return {
        name,
        dim: { kind: 'numeric', low: 0, high: values.length - 1, step: 1 },
        toInternal: (v) => {
          domain.encode(v, enc, 0);
          return Math.floor(enc[0] * values.length);
        },
        fromInternal: (x) => values[x],
      };
    }
  }
}

/**
 * The tabulated configs in internal form, and which were proposed: a model's config (off the table)
 * is replaced by the nearest unused row, distances scaled by each numeric range (a categorical
 * mismatch, or an activity mismatch, counts 1).
 */
class TableIndex {
  private readonly rows: Float64Array[];
  private readonly used: Uint8Array;
  private readonly index = new Map<string, number>();

  constructor(
    private readonly problem: SearchProblem,
    private readonly params: TpeParam[],
    internal: (c: Config) => Float64Array,
  ) {
    const table = problem.restrictTo!;
    this.rows = table.map(internal);
    this.used = new Uint8Array(table.length);
    table.forEach((c, i) => this.index.set(configKey(problem.configSpace, c), i));
  }

  markUsed(config: Config): void {
    const i = this.index.get(configKey(this.problem.configSpace, config));
    if (i !== undefined) this.used[i] = 1;
  }

  reset(): void {
    this.used.fill(0);
  }

  nearestUnseen(x: Float64Array): Config | undefined {
    let best = -1;
    let bestD = Infinity;
    const scale = this.params.map((p) => (p.dim.kind === 'numeric' ? 1 / (p.dim.high - p.dim.low + p.dim.step) : 0));
    for (let r = 0; r < this.rows.length; r++) {
      if (this.used[r]) continue;
      const row = this.rows[r];
      let d = 0;
      for (let i = 0; i < x.length && d < bestD; i++) {
        const a = x[i];
        const b = row[i];
        if (Number.isNaN(a) || Number.isNaN(b)) d += Number.isNaN(a) === Number.isNaN(b) ? 0 : 1;
        else if (scale[i] === 0) d += a === b ? 0 : 1;
        else d += ((a - b) * scale[i]) ** 2;
      }
      if (d < bestD) {
        bestD = d;
        best = r;
      }
    }
    return best < 0 ? undefined : { ...this.problem.restrictTo![best] };
  }
}

/** A trial the searcher knows: its config in internal form (NaN: inactive) and its latest result. */
interface TpeTrial {
  id: number;
  config: Config;
  x: Float64Array;
  /** largest resource reported, and the value there (signed: smaller is better) */
  resource: number;
  value: number;
  state: 'running' | 'observed' | 'dropped';
  /** scratch flag of one suggestion: in the good group */
  below: boolean;
  /** scratch: index among the members of the estimator being built, else -1 */
  slot: number;
}

/** Ranking of observations: those that reached a larger resource first (Optuna's pruned trials), then by value, then by id. */
const better = (a: TpeTrial, b: TpeTrial) => a.resource > b.resource || (a.resource === b.resource && (a.value < b.value || (a.value === b.value && a.id < b.id)));
const byId = (a: TpeTrial, b: TpeTrial) => a.id < b.id;

/**
 * The tree-structured Parzen estimator (Bergstra et al. 2011) with Optuna's TPESampler defaults:
 * 10 random startup trials, γ(n) = min(⌈0.1 n⌉, 25) observations in the good group, 24 candidates
 * drawn from l(x), the one with the largest l(x)/g(x) proposed (in a finite space, where that can be
 * a config proposed before, the best new combination of the candidates); prior weight 1, magic clip,
 * weights ramped down for old observations beyond 25; univariate by default (each hyperparameter
 * chosen on its own), multivariate on request. A trial becomes an observation when it stops running
 * (completed, stopped or paused: ranked by the resource it reached, then its value, as Optuna ranks
 * pruned trials); running trials join the bad group (the constant liar), so parallel workers are
 * steered apart. Failed trials are dropped.
 *
 * Cost: observations are kept sorted (by rank, by trial id, and per numeric hyperparameter by value)
 * as they arrive, so a suggestion does O(n) passes and no sort of the history.
 */
export class TPESearcher implements Searcher {
  private readonly random: RandomSearcher;
  private readonly params: TpeParam[];
  private readonly trials = new Map<number, TpeTrial>();
  /** observed trials by rank (best first) */
  private readonly ranked: TpeTrial[] = [];
  /** observed trials by id */
  private readonly observedById: TpeTrial[] = [];
  /** running trials by id */
  private readonly running: TpeTrial[] = [];
  /** per numeric parameter: observed trials where it is active, by its value */
  private readonly byValue: TpeTrial[][];
  private readonly o: Required<TPESearcherOptions>;
  private readonly settings: ParzenSettings;
  private readonly sign: number;
  /** multivariate: the groups of parameters with one joint estimator each */
  private readonly groups: number[][];
  /** with restrictTo: the table, where a model's config is replaced by its nearest unused row */
  private readonly table: TableIndex | undefined;

  constructor(
    private readonly problem: SearchProblem,
    options: TPESearcherOptions = {},
  ) {
    this.random = new RandomSearcher(problem);
    this.params = hyperparameters(problem.configSpace).map(([name, d]) => tpeParam(name, d));
    this.byValue = this.params.map(() => []);
    this.sign = problem.mode === 'min' ? 1 : -1;
    this.o = {
      numStartupTrials: options.numStartupTrials ?? 10,
      numCandidates: options.numCandidates ?? 24,
      priorWeight: options.priorWeight ?? 1,
      magicClip: options.magicClip ?? true,
      multivariate: options.multivariate ?? false,
      constantLiar: options.constantLiar ?? true,
    };
    this.settings = { priorWeight: this.o.priorWeight, magicClip: this.o.magicClip, multivariate: this.o.multivariate };
    const groups = new Map<string, number[]>();
    if (this.o.multivariate) {
      hyperparameters(problem.configSpace).forEach(([, d], i) => {
        const key = JSON.stringify(d.condition ?? null);
        groups.set(key, [...(groups.get(key) ?? []), i]);
      });
    }
    this.groups = [...groups.values()];
    this.table = problem.restrictTo ? new TableIndex(problem, this.params, (c) => this.internal(c)) : undefined;
  }

  private internal(config: Config): Float64Array {
    return Float64Array.from(this.params, (p) => (p.name in config ? p.toInternal(config[p.name]) : NaN));
  }

  /**
   * Registers a running trial proposed elsewhere (another worker of a shared study), so that the
   * constant liar counts it and its result can arrive; false if the trial is known already.
   */
  adopt(trialId: number, config: Config): boolean {
    if (this.trials.has(trialId)) return false;
    this.random.markSeen(config);
    this.table?.markUsed(config);
    const t: TpeTrial = { id: trialId, config, x: this.internal(config), resource: -Infinity, value: Infinity, state: 'running', below: false, slot: -1 };
    this.trials.set(trialId, t);
    insertSorted(this.running, t, byId);
    return true;
  }

  /** Forgets a trial entirely (a suggestion of a shared study that was abandoned or only tentative). */
  forget(trialId: number): void {
    const t = this.trials.get(trialId);
    if (!t) return;
    if (t.state === 'observed') this.onTrialResumed(trialId);
    if (t.state === 'running') removeSorted(this.running, t, byId);
    this.trials.delete(trialId);
  }

  suggest(trialId: number): Config | undefined {
    let config: Config | undefined;
    if (this.ranked.length < this.o.numStartupTrials || this.params.length === 0) config = this.random.suggest();
    else {
      config = this.modelSuggest();
      // every combination the model looked at was proposed before: a random unseen config
      if (config && !this.random.hasSeen(config)) this.random.markSeen(config);
      else config = this.random.suggest();
    }
    if (!config) return undefined;
    this.table?.markUsed(config);
    const t: TpeTrial = { id: trialId, config, x: this.internal(config), resource: -Infinity, value: Infinity, state: 'running', below: false, slot: -1 };
    this.trials.set(trialId, t);
    insertSorted(this.running, t, byId);
    return config;
  }

  /** The good group (γ(n) best observations) and the bad one (the rest, and running trials with the liar), each by trial id. */
  split(): { below: TpeTrial[]; above: TpeTrial[] } {
    const nBelow = tpeGamma(this.ranked.length);
    const below = this.ranked.slice(0, nBelow).sort((a, b) => a.id - b.id);
    for (const t of below) t.below = true;
    const above: TpeTrial[] = [];
    const liars = this.o.constantLiar ? this.running : [];
    let r = 0;
    for (const t of this.observedById) {
      if (t.below) continue;
      while (r < liars.length && liars[r].id < t.id) above.push(liars[r++]);
      above.push(t);
    }
    while (r < liars.length) above.push(liars[r++]);
    for (const t of below) t.below = false;
    return { below, above };
  }

  /** The estimator of one group over the parameters `idx`, from the trials where all of them are active. */
  estimator(group: TpeTrial[], idx: number[], sortedBy?: TpeTrial[]): ParzenEstimator {
    const members: TpeTrial[] = [];
    for (const t of group) {
      let active = true;
      for (const i of idx) if (Number.isNaN(t.x[i])) active = false;
      if (active) {
        t.slot = members.length;
        members.push(t);
      }
    }
    const weights = tpeWeights(members.length);
    // plain loops: Float64Array.from with a map function is slow in V8
    const obs = idx.map((i) => {
      const col = new Float64Array(members.length);
      for (let k = 0; k < members.length; k++) col[k] = members[k].x[i];
      return col;
    });
    let orders: Int32Array[] | undefined;
    const i0 = idx[0];
    if (sortedBy && idx.length === 1 && this.params[i0].dim.kind === 'numeric') {
      // the members in value order: the parameter's incrementally sorted observations merged with the running ones
      const order = new Int32Array(members.length);
      const running = members.filter((t) => t.state === 'running').sort((a, b) => a.x[i0] - b.x[i0]);
      let j = 0;
      let e = 0;
      for (const t of sortedBy) {
        if (t.slot < 0) continue;
        while (e < running.length && running[e].x[i0] < t.x[i0]) order[j++] = running[e++].slot;
        order[j++] = t.slot;
      }
      while (e < running.length) order[j++] = running[e++].slot;
      orders = [order];
    }
    for (const t of members) t.slot = -1;
    return new ParzenEstimator(idx.map((i) => this.params[i].dim), obs, weights, this.settings, orders);
  }

  /**
   * Per factor (a multivariate group, or one parameter): `numCandidates` draws from l(x), each
   * scored log l(x) − log g(x); distinct draws only (a finite domain repeats values), best first,
   * a tie kept in draw order. values[d][j]: candidate j's value on the factor's d-th parameter.
   */
  private scoredCandidates(idx: number[], below: TpeTrial[], above: TpeTrial[]): { values: Float64Array[]; scores: Float64Array } {
    const m = this.o.numCandidates;
    const l = this.estimator(below, idx, this.byValue[idx[0]]);
    const g = this.estimator(above, idx, this.byValue[idx[0]]);
    const cands = l.sample(this.problem.rng, m);
    const ll = l.logPdf(cands, m);
    const lg = g.logPdf(cands, m);
    const distinct = new Map<string, number>();
    for (let j = 0; j < m; j++) {
      const key = cands.map((c) => c[j]).join(',');
      if (!distinct.has(key)) distinct.set(key, j);
    }
    const score = Float64Array.from(ll, (v, j) => v - lg[j]);
    const order = [...distinct.values()].sort((a, b) => (score[a] > score[b] ? -1 : score[a] < score[b] ? 1 : a - b));
    return { values: cands.map((c) => Float64Array.from(order, (j) => c[j])), scores: Float64Array.from(order, (j) => score[j]) };
  }

  /**
   * The candidates' best combination (each factor's best candidate: Optuna's choice) when it is a new
   * config; in a finite space, where it may be one proposed before, the best-scoring new combination
   * (summed scores: l and g are products over the factors), looking at up to MAX_COMBINATIONS of
   * them. With a table: the best combination's nearest unused row. Undefined: none new.
   */
  private modelSuggest(): Config | undefined {
    const { below, above } = this.split();
    const factors = [...this.groups];
    const grouped = new Set(factors.flat());
    for (let i = 0; i < this.params.length; i++) if (!grouped.has(i)) factors.push([i]);
    const scored = factors.map((idx) => this.scoredCandidates(idx, below, above));
    const chosen = new Float64Array(this.params.length);
    let looked = 0;
    for (const at of combinationsBestFirst(scored.map((s) => s.scores))) {
      factors.forEach((idx, f) => idx.forEach((i, d) => (chosen[i] = scored[f].values[d][at[f]])));
      const config = this.configFrom(chosen);
      if (this.table) return this.table.nearestUnseen(this.internal(config));
      if (!this.random.hasSeen(config)) return config;
      if (++looked >= MAX_COMBINATIONS) return undefined;
    }
    return undefined;
  }

  /** The config of internal values: fixed entries of the space kept, parameters its parents' values turn off left out. */
  private configFrom(chosen: Float64Array): Config {
    const config: Config = {};
    for (const [name, d] of Object.entries(this.problem.configSpace)) if (!isDomain(d)) config[name] = d;
    this.params.forEach((p, i) => (config[p.name] = p.fromInternal(chosen[i])));
    // each parameter was drawn from the trials where it was active; those its parents' draws turn off are left out
    return activeConfig(this.problem.configSpace, Object.fromEntries(Object.keys(this.problem.configSpace).filter((k) => k in config).map((k) => [k, config[k]])));
  }

  onTrialResult(trialId: number, resource: number, value: number): void {
    const t = this.trials.get(trialId);
    if (!t || t.state !== 'running') return;
    if (resource >= t.resource) {
      t.resource = resource;
      t.value = this.sign * value;
    }
  }

  /** A trial that stopped running becomes an observation (if it reported anything); a failed one is dropped. */
  onTrialIdle(trialId: number, reason: 'paused' | 'stopped' | 'completed' | 'failed'): void {
    const t = this.trials.get(trialId);
    if (!t || t.state !== 'running') return;
    removeSorted(this.running, t, byId);
    if (reason === 'failed' || t.resource === -Infinity) {
      t.state = 'dropped';
      return;
    }
    this.observe(t);
  }

  private observe(t: TpeTrial): void {
    t.state = 'observed';
    insertSorted(this.ranked, t, better);
    insertSorted(this.observedById, t, byId);
    this.params.forEach((p, i) => {
      if (p.dim.kind === 'numeric' && !Number.isNaN(t.x[i])) insertSorted(this.byValue[i], t, (a, b) => a.x[i] < b.x[i] || (a.x[i] === b.x[i] && a.id < b.id));
    });
  }

  onTrialResumed(trialId: number): void {
    const t = this.trials.get(trialId);
    if (!t || t.state !== 'observed') return;
    removeSorted(this.ranked, t, better);
    removeSorted(this.observedById, t, byId);
    this.params.forEach((p, i) => {
      if (p.dim.kind === 'numeric' && !Number.isNaN(t.x[i])) removeSorted(this.byValue[i], t, (a, b) => a.x[i] < b.x[i] || (a.x[i] === b.x[i] && a.id < b.id));
    });
    t.state = 'running';
    insertSorted(this.running, t, byId);
  }

  metadata() {
    return { searcher: 'tpe', gamma: 'min(ceil(0.1 n), 25)', ...this.o, restricted_to_table: Boolean(this.table) };
  }

  state() {
    return {
      random: this.random.state(),
      trials: [...this.trials.values()].map((t) => [t.id, t.config, t.resource === -Infinity ? null : t.resource, t.value === Infinity ? null : t.value, t.state]),
    };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; trials: [number, Config, number | null, number | null, TpeTrial['state']][] };
    this.random.restore(s.random);
    this.table?.reset();
    this.trials.clear();
    this.ranked.length = 0;
    this.observedById.length = 0;
    this.running.length = 0;
    for (const list of this.byValue) list.length = 0;
    for (const [id, config, resource, value, st] of s.trials) {
      const t: TpeTrial = { id, config, x: this.internal(config), resource: resource ?? -Infinity, value: value ?? Infinity, state: 'running', below: false, slot: -1 };
      this.trials.set(id, t);
      this.table?.markUsed(config);
      if (st === 'observed') this.observe(t);
      else if (st === 'running') insertSorted(this.running, t, byId);
      else t.state = st;
    }
  }

}
