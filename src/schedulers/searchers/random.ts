import { type Config, configKey, sampleConfig, spaceSize, validateConfig } from '../../config-space/index.js';
import type { SearchProblem, Searcher } from '../types.js';

/**
 * Random search. Never proposes the same config twice in a finite space (like Syne Tune's default),
 * first proposes `pointsToEvaluate`, and with `restrictTo` draws without replacement from that list.
 * It ignores outcome constraints: the tuner and the reports judge feasibility.
 */
export class RandomSearcher implements Searcher {
  private readonly seen = new Set<string>();
  private nextPoint = 0;
  private readonly size: number;

  constructor(private readonly problem: SearchProblem) {
    this.size = problem.restrictTo ? problem.restrictTo.length : spaceSize(problem.configSpace);
    for (const p of problem.pointsToEvaluate ?? []) validateConfig(problem.configSpace, p);
  }

  suggest(): Config | undefined {
    const { problem } = this;
    while (this.nextPoint < (problem.pointsToEvaluate?.length ?? 0)) {
      const point = problem.pointsToEvaluate![this.nextPoint++];
      if (this.remember(point)) return { ...point };
    }
    if (this.seen.size >= this.size) return undefined;
    // rejection sampling; when most of a finite space is used up, scan the rest in sampled order
    for (let attempt = 0; attempt < 100; attempt++) {
      const config = this.draw();
      if (this.remember(config)) return config;
    }
    return this.firstUnseen();
  }

  private draw(): Config {
    const { restrictTo, rng, configSpace } = this.problem;
    if (restrictTo) return { ...restrictTo[Math.floor(rng.next() * restrictTo.length)] };
    return sampleConfig(configSpace, rng);
  }

  private firstUnseen(): Config | undefined {
    const { restrictTo } = this.problem;
    if (restrictTo) {
      const start = Math.floor(this.problem.rng.next() * restrictTo.length);
      for (let k = 0; k < restrictTo.length; k++) {
        const c = restrictTo[(start + k) % restrictTo.length];
        if (this.remember(c)) return { ...c };
      }
      return undefined;
    }
    // a finite space that is nearly exhausted: keep sampling (each draw is cheap) up to a bound
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const config = this.draw();
      if (this.remember(config)) return config;
    }
    return undefined;
  }

  /** True if this config was proposed before (by this searcher or marked by its owner). */
  hasSeen(config: Config): boolean {
    return this.seen.has(configKey(this.problem.configSpace, config));
  }

  /** Record a config proposed by someone else (a model-based searcher using this one for its random phase). */
  markSeen(config: Config): void {
    this.remember(config);
  }

  /** How many configs were proposed so far. */
  get numSeen(): number {
    return this.seen.size;
  }

  /** False once a finite space (or the table) has no unseen config left. */
  get hasUnseen(): boolean {
    return this.seen.size < this.size;
  }

  private remember(config: Config): boolean {
    const key = configKey(this.problem.configSpace, config);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  onTrialResult(): void {}
  onTrialIdle(): void {}
  onTrialResumed(): void {}

  metadata() {
    return { searcher: 'random', restricted_to_table: Boolean(this.problem.restrictTo) };
  }

  state() {
    return { seen: [...this.seen], nextPoint: this.nextPoint };
  }

  restore(state: unknown) {
    const s = state as { seen: string[]; nextPoint: number };
    this.seen.clear();
    for (const k of s.seen) this.seen.add(k);
    this.nextPoint = s.nextPoint;
  }
}
