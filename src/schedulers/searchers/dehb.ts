import { type Config, type Domain, activeConfig, hyperparameters, isDomain } from '../../config-space/index.js';
import type { Rng } from '../../util/rng.js';
import type { SearchProblem, Searcher } from '../types.js';
import { RandomSearcher } from './random.js';

export interface DEHBSearcherOptions {
  /** F of rand/1 (DEHB: 0.5). */
  mutationFactor?: number;
  /** CR of the binomial crossover (DEHB: 0.5). */
  crossoverRate?: number;
}

/**
 * rand/1 mutation: a + F · (b − c) per dimension; a dimension that leaves [0, 1] is redrawn
 * uniformly (DEHB's boundary check).
 */
export function mutateRand1(a: Float64Array, b: Float64Array, c: Float64Array, f: number, rng: Rng): Float64Array {
  return a.map((ai, j) => {
    const v = ai + f * (b[j] - c[j]);
    return v < 0 || v > 1 ? rng.next() : v;
  });
}

/** Binomial crossover: each dimension from the mutant with probability CR (one random dimension always), else from the target. */
export function crossoverBin(mutant: Float64Array, target: Float64Array, cr: number, rng: Rng): Float64Array {
  const forced = Math.floor(rng.next() * mutant.length);
  return mutant.map((m, j) => (rng.next() < cr || j === forced ? m : target[j]));
}

interface Member {
  x: Float64Array;
  /** signed: smaller is better */
  value: number;
}

interface Pending {
  x: Float64Array;
  /** level index the trial was made for, and the population slot it competes for (-1: it joins) */
  level: number;
  target: number;
}

/** One coordinate per hyperparameter in [0, 1]: the domain's encoding, or a category's cell for `choice`. */
function unitCodec(domain: Domain): { encode(v: Config[string]): number; decode(u: number): Config[string] } {
  if (domain.kind === 'choice') {
    const values = domain.finiteValues!;
    return { encode: (v) => (values.indexOf(v) + 0.5) / values.length, decode: (u) => values[Math.min(values.length - 1, Math.floor(u * values.length))] };
  }
  const enc = new Float64Array(1);
  return {
    encode: (v) => {
      domain.encode(v, enc, 0);
      return enc[0];
    },
    decode: (u) => domain.decode([u], 0),
  };
}

/**
 * DEHB's searcher (Awad et al. 2021) for the hyperband scheduler: one differential-evolution
 * population per rung level (sized like the first bracket's rungs: max(4, η^(levels above))). A new
 * trial is made for the level its bracket starts at: rand/1 mutation (F = 0.5) of three parents
 * drawn from the parent pool — the level's own population at the lowest level, else the best
 * configs of the level below (the population passed up the rungs) — then binomial crossover
 * (CR = 0.5) with the level's next target (round robin). When the trial's result at that level
 * arrives it replaces the target if better (selection), or joins a population not yet full.
 * Until a pool holds three parents, configs are random. Asynchronous: nothing waits for a rung.
 */
export class DEHBSearcher implements Searcher {
  private readonly random: RandomSearcher;
  private readonly codecs: { name: string; codec: ReturnType<typeof unitCodec> }[];
  readonly populations: Member[][];
  readonly sizes: number[];
  private readonly cursors: number[];
  private readonly pending = new Map<number, Pending>();
  private readonly sign: number;
  private readonly f: number;
  private readonly cr: number;

  constructor(
    private readonly problem: SearchProblem,
    /** the rung levels and the maximal resource */
    private readonly levels: readonly number[],
    reductionFactor: number,
    options: DEHBSearcherOptions = {},
  ) {
    this.random = new RandomSearcher(problem);
    this.codecs = hyperparameters(problem.configSpace).map(([name, d]) => ({ name, codec: unitCodec(d) }));
    const top = levels.length - 1;
    this.sizes = levels.map((_, k) => Math.max(4, Math.ceil(Math.pow(reductionFactor, top - k))));
    this.populations = levels.map(() => []);
    this.cursors = levels.map(() => 0);
    this.sign = problem.mode === 'min' ? 1 : -1;
    this.f = options.mutationFactor ?? 0.5;
    this.cr = options.crossoverRate ?? 0.5;
  }

  /**
   * A member's vector. A hyperparameter inactive in the config keeps its coordinate from `genotype`
   * (the vector the config was decoded from), else a random one: the vector stays whole, so that
   * mutation and crossover work on every coordinate and the decoded config turns it on when its
   * condition holds again.
   */
  private encode(config: Config, genotype?: Float64Array): Float64Array {
    return Float64Array.from(this.codecs, ({ name, codec }, j) => (name in config ? codec.encode(config[name]) : genotype ? genotype[j] : this.problem.rng.next()));
  }

  /** The config of a vector: every coordinate decoded, then the hyperparameters inactive under those values left out. */
  private decode(x: Float64Array): Config {
    const config: Config = {};
    for (const [name, d] of Object.entries(this.problem.configSpace)) if (!isDomain(d)) config[name] = d;
    this.codecs.forEach(({ name, codec }, j) => (config[name] = codec.decode(x[j])));
    return activeConfig(this.problem.configSpace, Object.fromEntries(Object.keys(this.problem.configSpace).map((k) => [k, config[k]])));
  }

  /** The parents of level k's mutants: its own population at the lowest level, else the best of the level below, as many as level k holds. */
  parentPool(k: number): Member[] {
    if (k === 0) return this.populations[0];
    return [...this.populations[k - 1]].sort((a, b) => a.value - b.value).slice(0, this.sizes[k]);
  }

  suggest(trialId: number, context?: { level?: number }): Config | undefined {
    const { rng } = this.problem;
    const k = Math.max(0, this.levels.indexOf(context?.level ?? this.levels[0]));
    const pool = this.parentPool(k);
    let config: Config | undefined;
    let pending: Pending | undefined;
    if (pool.length >= 3 && this.codecs.length > 0) {
      const picks = distinct(3, pool.length, rng).map((i) => pool[i].x);
      const mutant = mutateRand1(picks[0], picks[1], picks[2], this.f, rng);
      const population = this.populations[k];
      const full = population.length >= this.sizes[k];
      const target = full ? this.cursors[k]++ % this.sizes[k] : -1;
      // before the population is full, the mutant crosses a random vector
      const x = crossoverBin(mutant, full ? population[target].x : Float64Array.from(mutant, () => rng.next()), this.cr, rng);
      const c = this.decode(x);
      if (!this.random.hasSeen(c)) {
        config = c;
        this.random.markSeen(c);
        pending = { x: this.encode(c, x), level: k, target };
      }
    }
    if (!config) {
      config = this.random.suggest();
      if (config) pending = { x: this.encode(config), level: k, target: -1 };
    }
    if (config) this.pending.set(trialId, pending!);
    return config;
  }

  onTrialResult(trialId: number, resource: number, value: number): void {
    const p = this.pending.get(trialId);
    if (!p) return;
    const k = this.levels.indexOf(resource);
    if (k < 0) return;
    const member = { x: p.x, value: this.sign * value };
    const population = this.populations[k];
    if (k === p.level && p.target >= 0) {
      // selection: the trial replaces its target if better
      if (member.value <= population[p.target].value) population[p.target] = member;
    } else if (population.length < this.sizes[k]) population.push(member);
  }

  onTrialIdle(trialId: number, reason: 'paused' | 'stopped' | 'completed' | 'failed'): void {
    if (reason !== 'paused') this.pending.delete(trialId);
  }

  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'dehb', mutation_factor: this.f, crossover_rate: this.cr, strategy: 'rand/1/bin', population_sizes: this.sizes };
  }

  state() {
    return {
      random: this.random.state(),
      populations: this.populations.map((p) => p.map((m) => [[...m.x], m.value])),
      cursors: this.cursors,
      pending: [...this.pending].map(([id, p]) => [id, [...p.x], p.level, p.target]),
    };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; populations: [number[], number][][]; cursors: number[]; pending: [number, number[], number, number][] };
    this.random.restore(s.random);
    s.populations.forEach((p, k) => (this.populations[k] = p.map(([x, value]) => ({ x: Float64Array.from(x), value }))));
    s.cursors.forEach((c, k) => (this.cursors[k] = c));
    this.pending.clear();
    for (const [id, x, level, target] of s.pending) this.pending.set(id, { x: Float64Array.from(x), level, target });
  }
}

/** n distinct indices of [0, size), in draw order (size ≥ n). */
function distinct(n: number, size: number, rng: Rng): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const i = Math.floor(rng.next() * size);
    if (!out.includes(i)) out.push(i);
  }
  return out;
}
