import { type Config, hasConditions, hyperparameters, repairConfig } from '../../config-space/index.js';
import type { SearchProblem, Searcher } from '../types.js';
import { RandomSearcher } from './random.js';

export interface REASearcherOptions {
  /** Members kept; the oldest dies when a new one joins a full population (default 100, as Syne Tune). */
  populationSize?: number;
  /** Members drawn (with replacement) for each tournament (default 10). */
  sampleSize?: number;
}

interface Member {
  config: Config;
  /** signed: smaller is better */
  value: number;
}

/** Draws of a proposal that may repeat a config before random search takes over (finite spaces). */
const MUTATION_ATTEMPTS = 20;

/**
 * Regularized evolution (Real et al. 2019): random configs until the population is full, then each
 * suggestion is a tournament — `sampleSize` members drawn at random with replacement, the best one
 * mutated in one hyperparameter (a new value drawn from its domain, different from the parent's
 * where the domain allows). A trial joins the population when it completes (its last value) and the
 * oldest member dies (ageing), so old lucky configs cannot stay forever. Asynchronous: suggestions
 * never wait for running trials. In a finite space a mutant seen before is redrawn, then replaced by
 * a random unseen config; with a table, the mutant is an unused row one hyperparameter away.
 */
export class REASearcher implements Searcher {
  private readonly random: RandomSearcher;
  /** oldest first */
  private population: Member[] = [];
  private readonly running = new Map<number, { config: Config; value: number | undefined }>();
  private readonly populationSize: number;
  private readonly sampleSize: number;
  private readonly sign: number;

  constructor(
    private readonly problem: SearchProblem,
    options: REASearcherOptions = {},
  ) {
    this.random = new RandomSearcher(problem);
    this.populationSize = options.populationSize ?? 100;
    this.sampleSize = options.sampleSize ?? 10;
    if (!(Number.isInteger(this.populationSize) && this.populationSize >= 1)) throw new Error(`REA: populationSize must be an integer >= 1, got ${this.populationSize}`);
    if (!(Number.isInteger(this.sampleSize) && this.sampleSize >= 1)) throw new Error(`REA: sampleSize must be an integer >= 1, got ${this.sampleSize}`);
    this.sign = problem.mode === 'min' ? 1 : -1;
  }

  /** The current population, oldest first (for tests and checkpoints). */
  get members(): readonly Member[] {
    return this.population;
  }

  suggest(trialId: number): Config | undefined {
    let config: Config | undefined;
    if (this.population.length < this.populationSize) config = this.random.suggest();
    else if (this.problem.restrictTo) {
      config = this.tableNeighbour(this.tournament().config);
      if (config) this.random.markSeen(config);
      else config = this.random.suggest();
    } else {
      const parent = this.tournament();
      for (let attempt = 0; attempt < MUTATION_ATTEMPTS && !config; attempt++) {
        const child = this.mutate(parent.config);
        if (!this.random.hasSeen(child)) config = child;
      }
      if (config) this.random.markSeen(config);
      else config = this.random.suggest();
    }
    if (config) this.running.set(trialId, { config, value: undefined });
    return config;
  }

  /** The best of `sampleSize` members drawn uniformly with replacement (the first drawn wins ties). */
  tournament(): Member {
    const { rng } = this.problem;
    let best: Member | undefined;
    for (let i = 0; i < this.sampleSize; i++) {
      const m = this.population[Math.floor(rng.next() * this.population.length)];
      if (!best || m.value < best.value) best = m;
    }
    return best!;
  }

  /**
   * The parent with one of its active hyperparameters (chosen uniformly) redrawn from its domain, to
   * another value if it has one. In a conditional space the child is then repaired: what the new
   * value deactivates is dropped, what it activates is drawn from its domain.
   */
  mutate(parent: Config): Config {
    const { rng, configSpace } = this.problem;
    const hps = hyperparameters(configSpace).filter(([name, d]) => name in parent && (!d.finiteValues || d.finiteValues.length > 1));
    const child = { ...parent };
    if (hps.length === 0) return child;
    const [name, domain] = hps[Math.floor(rng.next() * hps.length)];
    if (domain.finiteValues) {
      const others = domain.finiteValues.filter((v) => v !== parent[name]);
      child[name] = others[Math.floor(rng.next() * others.length)];
    } else child[name] = domain.sample(rng);
    return hasConditions(configSpace) ? repairConfig(configSpace, child, (_, d) => d.sample(rng)) : child;
  }

  /** With a table: an unused tabulated config that differs from the parent in exactly one hyperparameter, drawn uniformly. */
  private tableNeighbour(parent: Config): Config | undefined {
    const names = hyperparameters(this.problem.configSpace).map(([name]) => name);
    const neighbours = this.problem.restrictTo!.filter((c) => names.filter((n) => c[n] !== parent[n]).length === 1 && !this.random.hasSeen(c));
    return neighbours.length > 0 ? { ...neighbours[Math.floor(this.problem.rng.next() * neighbours.length)] } : undefined;
  }

  onTrialResult(trialId: number, _resource: number, value: number): void {
    const t = this.running.get(trialId);
    if (t) t.value = this.sign * value;
  }

  onTrialIdle(trialId: number, reason: 'paused' | 'stopped' | 'completed' | 'failed'): void {
    const t = this.running.get(trialId);
    if (!t) return;
    this.running.delete(trialId);
    if (reason === 'failed' || t.value === undefined || Number.isNaN(t.value)) return;
    this.population.push({ config: t.config, value: t.value });
    // ageing: the oldest member dies, whatever its value
    if (this.population.length > this.populationSize) this.population.shift();
  }

  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'regularized-evolution', population_size: this.populationSize, sample_size: this.sampleSize };
  }

  state() {
    return { random: this.random.state(), population: this.population, running: [...this.running] };
  }

  restore(state: unknown): void {
    const s = state as { random: unknown; population: Member[]; running: [number, { config: Config; value: number | null }][] };
    this.random.restore(s.random);
    this.population = s.population.map((m) => ({ ...m }));
    this.running.clear();
    for (const [id, t] of s.running) this.running.set(id, { config: t.config, value: t.value ?? undefined });
  }
}
