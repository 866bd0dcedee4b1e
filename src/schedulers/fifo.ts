import type { Decision, Mode, ResultScalar, SearchProblem, Searcher, Suggestion, TrialResult, TrialScheduler } from './types.js';
import { metricValue } from './types.js';
import type { RngState } from '../util/rng.js';

/** First in, first out: every trial runs to its end; the searcher alone decides what to try. */
export class FIFOScheduler implements TrialScheduler {
  readonly metric: string;
  readonly mode: Mode;
  readonly scalar?: ResultScalar;

  constructor(
    private readonly problem: SearchProblem,
    private readonly searcher: Searcher,
  ) {
    this.metric = problem.metric;
    this.mode = problem.mode;
    if (searcher.scalar) this.scalar = searcher.scalar;
  }

  suggest(trialId: number, allowNew = true): Suggestion | undefined {
    if (!allowNew) return undefined;
    const config = this.searcher.suggest(trialId);
    return config ? { config } : undefined;
  }

  onTrialResult(trialId: number, result: TrialResult): Decision {
    this.searcher.onTrialResult(trialId, result.resource, metricValue(result, this.metric), result.metrics);
    return 'continue';
  }

  onTrialComplete(trialId: number): void {
    this.searcher.onTrialIdle(trialId, 'completed');
  }

  onTrialError(trialId: number): void {
    this.searcher.onTrialIdle(trialId, 'failed');
  }

  suggestionCounts() {
    return this.searcher.suggestionCounts?.();
  }

  metadata() {
    return { scheduler: 'fifo', metric: this.metric, mode: this.mode, ...this.searcher.metadata() };
  }

  state() {
    return { rng: this.problem.rng.state(), searcher: this.searcher.state() };
  }

  restore(state: unknown) {
    const s = state as { rng: RngState; searcher: unknown };
    this.problem.rng.setState(s.rng);
    this.searcher.restore(s.searcher);
  }
}
