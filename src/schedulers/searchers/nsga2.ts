import { type Config, type Domain, encodeConfig, hasConditions, hyperparameters, repairConfig } from '../../config-space/index.js';
import { rankByFrontAndCrowding, signed } from '../../results/pareto.js';
import { objectivesOf, type SearchProblem, type Searcher } from '../types.js';
import { RandomSearcher } from './random.js';

export interface NSGA2Options {
  /** Members kept (default 20, Syne Tune's NSGA2: HPO budgets are hundreds of trials, not thousands). */
  populationSize?: number;
  /** Probability that two parents are crossed (default 0.9). */
  crossoverProbability?: number;
  /** Per hyperparameter (default 1 / number of hyperparameters). */
  mutationProbability?: number;
  /** Distribution indices of SBX and polynomial mutation (defaults 15 and 20, as pymoo's NSGA-II). */
  etaCrossover?: number;
  etaMutation?: number;
}

interface Member {
  trialId: number;
  config: Config;
  /** the objectives, signed: smaller is better */
  point: number[];
}

/** Draws of a child that may repeat a config before random search takes over (finite spaces). */
const CHILD_ATTEMPTS = 20;

/**
 * NSGA-II (Deb et al. 2002), steady state so that it is asynchronous: random configs until the
 * population is full, then each suggestion is a child of two parents picked by binary tournaments
 * (front, then crowding distance), and a trial that completes joins the population, which then drops
 * its worst member by the same order ((μ + 1) survival). A suggestion never waits for running trials,
 * and the cost of one result is that of sorting the population, not the history.
 *
 * Mixed spaces, per hyperparameter: a numeric or ordinal one is crossed by SBX and mutated by
 * polynomial mutation on its [0, 1] encoding (the unbounded forms, clipped to [0, 1]; decoding rounds
 * to the domain's grid), a categorical one (`choice`) by uniform crossover and by a fresh draw from
 * its domain. In a finite space a child seen before is redrawn, then replaced by a random unseen
 * config; with a table (`restrictTo`), the child is the nearest unused row by the encoding.
 */
export class NSGA2Searcher implements Searcher {
  private readonly random: RandomSearcher;
  private population: Member[] = [];
  /** population indices, best first (front, crowding), updated when the population changes */
  private order: number[] = [];
  private readonly position = new Map<number, number>();
  private readonly pending = new Map<number, { config: Config; point: number[] | undefined }>();
  private readonly o: Required<NSGA2Options>;
  private readonly hps: [string, Domain][];
  private tableEncodings: Float64Array[] | undefined;

  constructor(
    private readonly problem: SearchProblem,
    options: NSGA2Options = {},
  ) {
    this.random = new RandomSearcher(problem);
    this.hps = hyperparameters(problem.configSpace);
    this.o = {
      populationSize: options.populationSize ?? 20,
      crossoverProbability: options.crossoverProbability ?? 0.9,
      mutationProbability: options.mutationProbability ?? 1 / Math.max(1, this.hps.length),
      etaCrossover: options.etaCrossover ?? 15,
      etaMutation: options.etaMutation ?? 20,
    };
    if (!(Number.isInteger(this.o.populationSize) && this.o.populationSize >= 2)) throw new Error(`NSGA2: populationSize must be an integer >= 2, got ${this.o.populationSize}`);
  }

  /** The population, in joining order (for tests and checkpoints). */
  get members(): readonly Member[] {
    return this.population;
  }

  suggest(trialId: number): Config | undefined {
    let config: Config | undefined;
    if (this.population.length < this.o.populationSize || this.hps.length === 0) config = this.random.suggest();
    else {
      for (let attempt = 0; attempt < CHILD_ATTEMPTS && !config; attempt++) {
        let child: Config | undefined = this.child(this.tournament(), this.tournament());
        if (this.problem.restrictTo) child = this.nearestUnusedRow(child);
        if (child && !this.random.hasSeen(child)) config = child;
      }
      if (config) this.random.markSeen(config);
      else config = this.random.suggest();
    }
    if (config) this.pending.set(trialId, { config, point: undefined });
    return config;
  }

  /**
   * A trial of a config this searcher did not suggest (a shared study's other workers): pending
   * until its result and end come, and seen, so that no child repeats it.
   */
  adopt(trialId: number, config: Config): void {
    this.markSeen(config);
    this.pending.set(trialId, { config, point: undefined });
  }

  /** A config given to a trial elsewhere: no child repeats it (finite spaces). */
  markSeen(config: Config): void {
    this.random.markSeen(config);
  }

  /** Drops a pending trial without a result (a tentative one of a shared study's batch). */
  forget(trialId: number): void {
    this.pending.delete(trialId);
  }

  /** The better of two members drawn at random (with replacement), by front and crowding. */
  private tournament(): Member {
    const { rng } = this.problem;
    const a = Math.floor(rng.next() * this.population.length);
    const b = Math.floor(rng.next() * this.population.length);
    return this.population[this.position.get(a)! <= this.position.get(b)! ? a : b];
  }

  private child(p1: Member, p2: Member): Config {
    const { rng } = this.problem;
    const cross = rng.next() < this.o.crossoverProbability;
    // constants of the space come with the parent
    const out: Config = { ...p1.config };
    const one = new Float64Array(1);
    const two = new Float64Array(1);
    for (const [name, domain] of this.hps) {
      const a = p1.config[name];
      const b = p2.config[name];
      // a conditional parameter inactive in a parent: the other's value, if either has one (repaired below)
      if (a === undefined || b === undefined) {
        if (b !== undefined) out[name] = b;
        continue;
      }
      if (domain.kind === 'choice' || domain.encodedSize !== 1) {
        let v = cross && rng.next() < 0.5 ? b : a;
        if (rng.next() < this.o.mutationProbability) v = domain.sample(rng);
        out[name] = v;
        continue;
      }
      domain.encode(a, one, 0);
      domain.encode(b, two, 0);
      let u = one[0];
      if (cross && rng.next() < 0.5) u = this.sbx(one[0], two[0]);
      if (rng.next() < this.o.mutationProbability) u = this.mutate(u);
      one[0] = Math.min(1, Math.max(0, u));
      out[name] = domain.decode(one, 0);
    }
    // what the child's values turn off is dropped, what they turn on is drawn
    return hasConditions(this.problem.configSpace) ? repairConfig(this.problem.configSpace, out, (_, d) => d.sample(rng)) : out;
  }

  /** Simulated binary crossover: one of the two children, at random. */
  private sbx(x1: number, x2: number): number {
    const { rng } = this.problem;
    const u = rng.next();
    const e = 1 / (this.o.etaCrossover + 1);
    const beta = u <= 0.5 ? Math.pow(2 * u, e) : Math.pow(1 / (2 * (1 - u)), e);
    const sign = rng.next() < 0.5 ? 1 : -1;
    return 0.5 * ((1 + sign * beta) * x1 + (1 - sign * beta) * x2);
  }

  /** Polynomial mutation on [0, 1]. */
  private mutate(x: number): number {
    const r = this.problem.rng.next();
    const e = 1 / (this.o.etaMutation + 1);
    const delta = r < 0.5 ? Math.pow(2 * r, e) - 1 : 1 - Math.pow(2 * (1 - r), e);
    return x + delta;
  }

  private nearestUnusedRow(child: Config): Config | undefined {
    const rows = this.problem.restrictTo!;
    const space = this.problem.configSpace;
    this.tableEncodings ??= rows.map((r) => encodeConfig(space, r));
    const x = encodeConfig(space, child);
    let best = -1;
    let bestD = Infinity;
    for (let i = 0; i < rows.length; i++) {
      const e = this.tableEncodings[i];
      let d = 0;
      for (let k = 0; k < x.length; k++) d += (x[k] - e[k]) ** 2;
      if (d < bestD && !this.random.hasSeen(rows[i])) {
        best = i;
        bestD = d;
      }
    }
    return best < 0 ? undefined : { ...rows[best] };
  }

  onTrialResult(trialId: number, _resource: number, _value: number, metrics: Readonly<Record<string, number>>): void {
    const p = this.pending.get(trialId);
    if (p) p.point = signed(objectivesOf(this.problem), metrics);
  }

  onTrialIdle(trialId: number, reason: 'paused' | 'stopped' | 'completed' | 'failed'): void {
    if (reason === 'paused') return;
    const p = this.pending.get(trialId);
    this.pending.delete(trialId);
    if (reason !== 'completed' || !p?.point || p.point.some(Number.isNaN)) return;
    this.population.push({ trialId, config: p.config, point: p.point });
    this.rank();
    if (this.population.length > this.o.populationSize) {
      // the worst leaves; the others keep their order (crowding is refreshed at the next arrival)
      const worst = this.order.at(-1)!;
      this.population.splice(worst, 1);
      this.order = this.order.slice(0, -1).map((i) => (i > worst ? i - 1 : i));
      this.position.clear();
      this.order.forEach((i, r) => this.position.set(i, r));
    }
  }

  private rank(): void {
    this.order = rankByFrontAndCrowding(this.population.map((m) => m.point));
    this.position.clear();
    this.order.forEach((i, r) => this.position.set(i, r));
  }

  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'nsga2', population_size: this.o.populationSize, crossover: 'sbx', eta_crossover: this.o.etaCrossover, mutation: 'polynomial', eta_mutation: this.o.etaMutation, crossover_probability: this.o.crossoverProbability, mutation_probability: this.o.mutationProbability };
  }

  state() {
    return { random: this.random.state(), population: this.population, order: this.order, pending: [...this.pending] };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; population: Member[]; order: number[]; pending: [number, { config: Config; point: number[] | null }][] };
    this.random.restore(s.random);
    // a JSON round trip writes NaN as null
    this.population = s.population.map((m) => ({ ...m, point: m.point.map((v) => v ?? NaN) }));
    this.pending.clear();
    for (const [id, p] of s.pending) this.pending.set(id, { config: p.config, point: p.point?.map((v) => v ?? NaN) });
    // the order as it was (not recomputed: its crowding distances may be those of the last arrival)
    this.order = [...s.order];
    this.position.clear();
    this.order.forEach((i, r) => this.position.set(i, r));
  }
}
