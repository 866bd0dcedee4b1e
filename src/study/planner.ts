import { type Config, configKey, spaceSize } from '../config-space/index.js';
import type { ExperimentDefinition, StudySettings } from '../experiment/load.js';
import { rungLevels } from '../schedulers/hyperband.js';
import { GPSearcher } from '../schedulers/searchers/gp-searcher.js';
import { RandomSearcher } from '../schedulers/searchers/random.js';
import { TPESearcher } from '../schedulers/searchers/tpe.js';
import { NSGA2Searcher } from '../schedulers/searchers/nsga2.js';
import { parEGOScalars, simplexWeights } from '../schedulers/searchers/parego.js';
import { objectivesOf, type SearchProblem } from '../schedulers/types.js';
import type { Objective } from '../results/pareto.js';
import type { Rng } from '../util/rng.js';
import type { StudyCache } from './storage/cache.js';
import type { BufferLimits, ObservationRecord, RungRule, StudyView, SuggestionChanges, SuggestionLimits, SuggestionRecord } from './storage/store.js';

/**
 * The methods a shared study runs: new configs from random search, a GP or TPE, ASHA's stopping
 * rule over every worker's reports; for several objectives random search, NSGA-II and ParEGO on the
 * GP. MO-ASHA is not among them: its rungs rank vectors by non-dominated sorting, and the store's
 * rung rows and their decision (a count of better values in one statement) hold one value each.
 */
export const STUDY_METHODS = ['RS', 'BO', 'TPE', 'ASHA', 'MO-RS', 'NSGA2', 'MO-BO'] as const;
export type StudyMethod = (typeof STUDY_METHODS)[number];
/** Those of STUDY_METHODS for several objectives (and only for them). */
export const MULTI_OBJECTIVE_STUDY_METHODS = ['MO-RS', 'NSGA2', 'MO-BO'] as const satisfies readonly StudyMethod[];

/** Why ask() got nothing: the budget is met (or the space exhausted), the study stopped, or every slot is taken for now. */
export type PlanResult = 'claimed' | 'budget' | 'stopped' | 'exhausted' | 'wait';

export interface Plan {
  changes: SuggestionChanges;
  result: PlanResult;
  /** The buffer is below its target and may be refilled now (after the claim, off the worker's path). */
  refillDue: boolean;
}

/**
 * Proposes configs from the study's observations and its open and ready suggestions, given as
 * plain data. One per process, fed incrementally by the StudyCache.
 */
export interface StudySearcher {
  /** Up to n new configs, each treating the pending ones and those before it as pending. */
  propose(n: number, pending: readonly SuggestionRecord[]): Config[];
  /** Model-based: keeps a buffer of ready suggestions, refilled in batches. */
  readonly modelBased: boolean;
  /** A config that needs no view of the study (random search on an infinite space), for the store's one-step path. */
  proposeBlind?(): Config | undefined;
  /** A config of proposeBlind's that went unused: proposed again first. */
  giveBack?(config: Config): void;
}

/** Random search: never repeats a config any worker was given (finite spaces). */
class RandomStudySearcher implements StudySearcher {
  readonly modelBased = false;
  private readonly random: RandomSearcher;
  private readonly unused: Config[] = [];
  /** In an infinite space no two workers draw the same config: a config needs no view of the others. */
  private readonly blind: boolean;

  constructor(problem: SearchProblem, cache: StudyCache) {
    this.random = new RandomSearcher(problem);
    this.blind = spaceSize(problem.configSpace) === Infinity;
    cache.onSuggestion((_, config) => this.random.markSeen(config));
  }

  proposeBlind(): Config | undefined {
    return this.blind ? this.propose(1)[0] : undefined;
  }

  giveBack(config: Config): void {
    this.unused.push(config);
  }

  propose(n: number): Config[] {
    const out = this.unused.splice(0, n);
    while (out.length < n) {
      const c = this.random.suggest();
      if (!c) break;
      out.push(c);
    }
    return out;
  }
}

/**
 * BO: the GP searcher, rebuilt from the study's data for each batch (its own state format is plain
 * JSON: trials with their values, which are running, the fitted hyperparameters). The open and
 * ready suggestions are its running trials, so their outcomes are fantasized; the hyperparameters
 * carry over between batches, refitted as the GP searcher decides (when the data grew by 5 %).
 */
class GPStudySearcher implements StudySearcher {
  readonly modelBased = true;
  private fitted: { theta: number[] | null; lastFitSize: number } = { theta: null, lastFitSize: 0 };

  /** `targets`: the value the GP minimises of each observation given (in order), drawn afresh for each batch. */
  constructor(
    private readonly problem: SearchProblem,
    private readonly cache: StudyCache,
    private readonly numInitRandom: number,
    private readonly targets: (observations: readonly ObservationRecord[]) => number[],
  ) {}

  propose(n: number, pending: readonly SuggestionRecord[]): Config[] {
    const { problem, cache } = this;
    const searcher = new GPSearcher({ ...problem, mode: 'min', objectives: undefined }, { numInitRandom: this.numInitRandom });
    const constraints = problem.constraints ?? [];
    const observed: [number, Config, ObservationRecord][] = [];
    for (const [id, o] of cache.observations) {
      const config = cache.configs.get(id);
      if (config && !o.failed && o.value !== null) observed.push([id, config, o]);
    }
    const targets = this.targets(observed.map(([, , o]) => o));
    const trials: unknown[] = observed.map(([id, config, o], i) => {
      const constraintValues = constraints.length ? [[1, Object.fromEntries(constraints.map((c) => [c.metric, o.values[c.metric] ?? null]))]] : undefined;
      return [id, { config, values: [[1, targets[i]]], running: false, ...(constraintValues && { constraintValues }) }];
    });
    for (const s of pending) if (!cache.observations.has(s.id)) trials.push([s.id, { config: s.config, values: [], running: true, ...(constraints.length && { constraintValues: [] }) }]);
    searcher.restore({
      random: { seen: [...cache.configs.values()].map((c) => configKey(problem.configSpace, c)), nextPoint: 0 },
      theta: this.fitted.theta,
      ...(constraints.length && { constraintThetas: [] }),
      lastFitSize: this.fitted.lastFitSize,
      trials,
      levelObservations: [],
    });
    const out: Config[] = [];
    // ids below every suggestion id: the batch's own configs are pending for the ones after them
    for (let i = 0; i < n; i++) {
      const c = searcher.suggest(-1 - i);
      if (!c) break;
      out.push(c);
    }
    const state = searcher.state() as { theta: number[] | null; lastFitSize: number };
    this.fitted = { theta: state.theta, lastFitSize: state.lastFitSize };
    return out;
  }
}

/** BO's target: the objective, signed so that smaller is better. */
const signedValue = (mode: 'min' | 'max') => (observations: readonly ObservationRecord[]) => observations.map((o) => (mode === 'min' ? 1 : -1) * o.value!);

/**
 * MO-BO's target (ParEGO, as ParEGOSearcher): the augmented Chebyshev scalar of every observation's
 * objectives under weights drawn on the simplex for the batch. A shared study draws once per batch
 * (the buffer's configs share a scalarization, its pending ones fantasized), a local run once per suggestion.
 */
const parEGOTarget = (objectives: readonly Objective[], rng: Rng) => (observations: readonly ObservationRecord[]) => {
  const w = simplexWeights(rng, objectives.length);
  return parEGOScalars(
    observations.map((o) => observationPoint(objectives, o)),
    w,
  );
};

/** An observation's objective values in their order, signed so that smaller is better (NaN where it has none: a failed one). */
export const observationPoint = (objectives: readonly Objective[], o: Pick<ObservationRecord, 'objectiveValues'>) => objectives.map((ob, k) => (o.objectiveValues ? (ob.mode === 'min' ? o.objectiveValues[k] : -o.objectiveValues[k]) : NaN));

/** The cache's observations not yet fed to a process's searcher, each once, with its suggestion's config (one the cache lacks is skipped). */
function* unfed(cache: StudyCache, fed: Set<number>): Generator<[number, Config, ObservationRecord]> {
  for (const [id, o] of cache.observations) {
    if (fed.has(id)) continue;
    fed.add(id);
    const config = cache.configs.get(id);
    if (config) yield [id, config, o];
  }
}

/**
 * Up to n proposals of a searcher as tentative trials, forgotten after the batch. Their ids lie below
 * every suggestion id, so the batch's own configs are pending for the ones after them.
 */
function tentativeBatch(searcher: { suggest(trialId: number): Config | undefined; forget(trialId: number): void }, n: number): Config[] {
  const out: Config[] = [];
  for (let i = 0; i < n; i++) {
    const c = searcher.suggest(-1 - i);
    if (!c) break;
    out.push(c);
  }
  for (let i = 0; i < out.length; i++) searcher.forget(-1 - i);
  return out;
}

/**
 * NSGA-II in a shared study: one searcher per process, fed each observation once (every worker's;
 * a completed one joins the population, which keeps its size by dropping the worst), with every
 * config any worker was given marked seen. A batch's proposals are tentative trials, forgotten after it.
 */
class NSGA2StudySearcher implements StudySearcher {
  readonly modelBased = true;
  private readonly searcher: NSGA2Searcher;
  private readonly fed = new Set<number>();

  constructor(
    private readonly problem: SearchProblem,
    private readonly cache: StudyCache,
  ) {
    this.searcher = new NSGA2Searcher(problem);
    cache.onSuggestion((_, config) => this.searcher.markSeen(config));
  }

  propose(n: number): Config[] {
    const { searcher, cache } = this;
    const objectives = objectivesOf(this.problem);
    for (const [id, config, o] of unfed(cache, this.fed)) {
      searcher.adopt(id, config);
      if (!o.failed && o.objectiveValues) {
        const metrics = Object.fromEntries(objectives.map((ob, k) => [ob.metric, o.objectiveValues![k]]));
        searcher.onTrialResult(id, 1, o.objectiveValues[0], metrics);
      }
      searcher.onTrialIdle(id, o.failed ? 'failed' : 'completed');
    }
    return tentativeBatch(searcher, n);
  }
}

/**
 * TPE: one searcher per process, fed incrementally — each observation once, each open or ready
 * suggestion of any worker as a running trial (the constant liar steers the batch away from them).
 * A batch's own proposals are tentative trials, forgotten after the batch: they come back as pending
 * suggestions with their real ids.
 */
class TPEStudySearcher implements StudySearcher {
  readonly modelBased = true;
  private readonly searcher: TPESearcher;
  /** suggestion ids the searcher holds as running */
  private readonly running = new Set<number>();
  private readonly fed = new Set<number>();

  constructor(
    problem: SearchProblem,
    private readonly cache: StudyCache,
    multivariate: boolean | undefined,
  ) {
    this.searcher = new TPESearcher(problem, { multivariate });
  }

  propose(n: number, pending: readonly SuggestionRecord[]): Config[] {
    const { searcher, cache } = this;
    for (const [id, config, o] of unfed(cache, this.fed)) {
      searcher.adopt(id, config);
      this.running.delete(id);
      if (o.failed || o.value === null) searcher.onTrialIdle(id, 'failed');
      else {
        searcher.onTrialResult(id, 1, o.value);
        searcher.onTrialIdle(id, 'completed');
      }
    }
    const open = new Set(pending.map((s) => s.id));
    // a suggestion no longer pending without an observation was abandoned
    for (const id of this.running) if (!open.has(id) && !cache.observations.has(id)) (searcher.forget(id), this.running.delete(id));
    for (const s of pending) if (!this.fed.has(s.id) && searcher.adopt(s.id, s.config)) this.running.add(s.id);
    return tentativeBatch(searcher, n);
  }
}

/**
 * The file's points_to_evaluate first, in order, each once across every worker of the study: a
 * point is taken as soon as any suggestion of the study holds its config (the cache learns of every
 * suggestion, whichever process created it); the method's searcher proposes the rest.
 */
class PointsFirst implements StudySearcher {
  readonly modelBased: boolean;
  readonly proposeBlind?: () => Config | undefined;
  readonly giveBack?: (config: Config) => void;
  private readonly taken = new Set<string>();
  private readonly keys: string[];
  /** Points before it are all taken (the set only grows): where the search for untaken ones starts. */
  private first = 0;

  constructor(
    private readonly inner: StudySearcher,
    private readonly points: readonly Config[],
    space: ExperimentDefinition['configSpace'],
    cache: StudyCache,
  ) {
    this.modelBased = inner.modelBased;
    this.keys = points.map((p) => configKey(space, p));
    const wanted = new Set(this.keys);
    cache.onSuggestion((_, config) => {
      const key = configKey(space, config);
      if (wanted.has(key)) this.taken.add(key);
    });
    // the one-step path needs no view: only once this process knows every point taken (else the full path, which brings the cache up to date)
    if (inner.proposeBlind) this.proposeBlind = () => (this.untaken().length ? undefined : inner.proposeBlind!());
    if (inner.giveBack) this.giveBack = (config) => inner.giveBack!(config);
  }

  private untaken(): Config[] {
    while (this.first < this.keys.length && this.taken.has(this.keys[this.first])) this.first++;
    const out: Config[] = [];
    for (let i = this.first; i < this.keys.length; i++) if (!this.taken.has(this.keys[i])) out.push({ ...this.points[i] });
    return out;
  }

  propose(n: number, pending: readonly SuggestionRecord[]): Config[] {
    const out = this.untaken().slice(0, n);
    return out.length < n ? [...out, ...this.inner.propose(n - out.length, pending)] : out;
  }
}

/** The study's problem, as a planner needs it. */
export interface StudyPlanContext {
  method: StudyMethod;
  definition: ExperimentDefinition;
  settings: StudySettings;
  searcher: StudySearcher;
  cache: StudyCache;
  /** ASHA's rule (undefined for RS and BO). */
  rule?: RungRule;
}

export function createStudySearcher(method: StudyMethod, definition: ExperimentDefinition, cache: StudyCache, rng: Rng): StudySearcher {
  const several = definition.objectives.length > 1;
  const problem: SearchProblem = { configSpace: definition.configSpace, metric: definition.metric, mode: definition.mode, rng, constraints: definition.constraints, ...(several && { objectives: definition.objectives }) };
  const searcher = ((): StudySearcher => {
    switch (method) {
      case 'BO':
        return new GPStudySearcher(problem, cache, initialRandom(definition), signedValue(definition.mode));
      case 'MO-BO':
        return new GPStudySearcher(problem, cache, initialRandom(definition), parEGOTarget(definition.objectives, rng));
      case 'TPE':
        return new TPEStudySearcher(problem, cache, definition.methodOptions.multivariate);
      case 'NSGA2':
        return new NSGA2StudySearcher(problem, cache);
      default:
        return new RandomStudySearcher(problem, cache);
    }
  })();
  return definition.pointsToEvaluate.length ? new PointsFirst(searcher, definition.pointsToEvaluate, definition.configSpace, cache) : searcher;
}

/** CANDLE's INIT_SIZE: the study's initial_random, else the method's num_init_random, else max(5, parallel_bandwidth). */
export function initialRandom(definition: ExperimentDefinition): number {
  return definition.study.initialRandom ?? definition.methodOptions.numInitRandom ?? Math.max(5, definition.parallelBandwidth);
}

export function rungRule(method: StudyMethod, definition: ExperimentDefinition): RungRule | undefined {
  if (method !== 'ASHA' || !definition.resource) return undefined;
  const { gracePeriod = 1, reductionFactor = 3 } = definition.methodOptions;
  return { levels: rungLevels(gracePeriod, reductionFactor, definition.resource.max), reductionFactor, mode: definition.mode, maxResource: definition.resource.max };
}

const budgetOf = (d: ExperimentDefinition) => d.budget.maxTrials ?? Infinity;

/** The study's limits, for the store's one-step path. */
export function suggestionLimits(definition: ExperimentDefinition, createdAt: number): SuggestionLimits {
  const t = definition.budget.maxWallclockTime;
  return { budget: budgetOf(definition), bandwidth: definition.parallelBandwidth, deadline: t === undefined ? null : createdAt + t * 1000 };
}

/** The study's wall-clock budget (seconds from its creation) has run out. */
const outOfTime = (ctx: StudyPlanContext, view: StudyView) => {
  const t = ctx.definition.budget.maxWallclockTime;
  return t !== undefined && view.now >= view.study.createdAt + t * 1000;
};

/** How many suggestions the buffer wants outstanding (open + ready): every worker's, plus the buffer, within the budget. */
export function outstandingTarget(ctx: StudyPlanContext, done: number): number {
  return Math.min(ctx.definition.parallelBandwidth + ctx.settings.buffer, budgetOf(ctx.definition) - done);
}

/**
 * CANDLE's MAX_THRESHOLD: observations that arrive within batch_window seconds of the last refill
 * wait until max_threshold of them have come, so that one model fit serves the whole batch.
 */
function refillAllowed(ctx: StudyPlanContext, view: StudyView, ready: number): boolean {
  if (ready === 0) return true;
  const { maxThreshold, batchWindow } = ctx.settings;
  return view.done - view.study.refillObservations >= maxThreshold || view.now - view.study.refillAt >= batchWindow * 1000;
}

/** The suggestions the searcher treats as pending: every open and ready one without an observation yet. */
const pendingOf = (ctx: StudyPlanContext, view: StudyView) => [...view.open, ...view.ready].filter((s) => !ctx.cache.observations.has(s.id));

/**
 * Decides what a worker asking for a suggestion gets, in the store's transaction: expired leases
 * are recovered first (reassigned or abandoned, by policy), then the budget and the bandwidth are
 * checked (nothing is handed out that could make the observations exceed the budget), then a ready
 * suggestion is claimed, else a new one created (model-based: with the buffer filled in the same fit).
 */
export function planClaim(ctx: StudyPlanContext, view: StudyView): Plan {
  ctx.cache.apply(view);
  const none = (result: PlanResult, changes: SuggestionChanges = {}): Plan => ({ changes, result, refillDue: false });
  if (view.study.status !== 'running') return none('stopped');
  const budget = budgetOf(ctx.definition);
  const expired = view.open.filter((s) => (s.leaseExpiresAt ?? 0) <= view.now);
  const abandon = ctx.settings.recover === 'abandon' ? expired.map((s) => s.id) : [];
  let open = view.open.length - abandon.length;
  if (view.done >= budget || outOfTime(ctx, view)) {
    // the ready ones will never be needed
    return none('budget', { end: 'completed', abandon: [...abandon, ...view.ready.map((s) => s.id)] });
  }
  if (ctx.settings.recover === 'reassign' && expired.length > 0) {
    return { changes: { claim: expired[0].id }, result: 'claimed', refillDue: false };
  }
  if (open >= ctx.definition.parallelBandwidth || view.done + open >= budget) return none('wait', { abandon });
  const modelBased = ctx.searcher.modelBased;
  if (view.ready.length > 0) {
    const claim = view.ready[0].id;
    open++;
    const deficit = outstandingTarget(ctx, view.done) - (open + view.ready.length - 1);
    return { changes: { abandon, claim }, result: 'claimed', refillDue: modelBased && deficit > 0 && refillAllowed(ctx, view, view.ready.length - 1) };
  }
  // one config in the transaction; a model-based searcher's buffer is refilled after it, off the lock
  const configs = ctx.searcher.propose(1, pendingOf(ctx, view));
  if (configs.length === 0) return open > 0 ? none('wait', { abandon }) : none('exhausted', { abandon, end: 'exhausted' });
  return { changes: { abandon, create: { configs, claimFirst: true } }, result: 'claimed', refillDue: modelBased && outstandingTarget(ctx, view.done) > open + 1 };
}

/** How many suggestions the buffer lacks (0: none, or not yet: CANDLE's batching), and what is pending now. */
export function refillNeed(ctx: StudyPlanContext, view: StudyView): { n: number; pending: SuggestionRecord[] } {
  ctx.cache.apply(view);
  if (view.study.status !== 'running' || outOfTime(ctx, view)) return { n: 0, pending: [] };
  const deficit = outstandingTarget(ctx, view.done) - view.open.length - view.ready.length;
  return { n: deficit > 0 && refillAllowed(ctx, view, view.ready.length) ? deficit : 0, pending: pendingOf(ctx, view) };
}

/**
 * The configs of a batch proposed outside the lock (from the view refillNeed saw) that no other
 * suggestion of that view holds; the store then adds as many as the buffer still lacks.
 */
export function freshConfigs(ctx: StudyPlanContext, view: StudyView, configs: readonly Config[]): Config[] {
  const { configSpace } = ctx.definition;
  const taken = new Set([...view.open, ...view.ready].map((s) => configKey(configSpace, s.config)));
  for (const s of view.newSuggestions) taken.add(configKey(configSpace, s.config));
  return configs.filter((c) => !taken.has(configKey(configSpace, c)));
}

/** What the buffer may hold at most: outstanding (open + ready) suggestions, and the budget they count against. */
export function bufferLimits(ctx: StudyPlanContext): BufferLimits {
  return { outstanding: ctx.definition.parallelBandwidth + ctx.settings.buffer, budget: budgetOf(ctx.definition) };
}
