import { UserError } from '../util/errors.js';
import type { AskResult, Objective, OptimizeSummary, TellOptions, TrialContext } from './study.js';

/** One worker of `optimize`'s loop, in a store or on a server: its asks, and the study's reports, tells and gives-back. */
export interface LoopWorker {
  ask(): Promise<AskResult | undefined>;
  report(suggestionId: number, resource: number, value: number, metrics?: Record<string, number>): Promise<'continue' | 'stop'>;
  isLost(suggestionId: number): boolean;
  tellAndAsk(suggestionId: number, values: number | Record<string, number> | undefined, options?: TellOptions): Promise<{ next?: AskResult; refused?: string }>;
  abandon(suggestionId: number): Promise<void>;
}

/** `optimize`'s workers option, checked. */
export function loopWorkers(workers = 1): number {
  if (!(Number.isInteger(workers) && workers >= 1)) throw new UserError(`optimize: workers must be a positive integer, got ${workers}`);
  return workers;
}

/**
 * The loop of `optimize` (Study's and RemoteStudy's): each worker evaluates its suggestions
 * concurrently with the others until the budget is met or the study stops; an objective that throws
 * gives a failed observation; more than `maxFailures` of them, or `state.failure` set (the store or
 * server lost for good), end every worker at its next step. The caller throws `state.failure`.
 */
export async function optimizeLoop(workers: readonly LoopWorker[], objective: Objective, maxFailures: number, state: { failure?: Error }, failureError: (message: string) => Error): Promise<OptimizeSummary> {
  const summary: OptimizeSummary = { observations: 0, failed: 0, lost: 0 };
  const loop = async (w: LoopWorker) => {
    let s = await w.ask();
    while (s && !state.failure) {
      const current = s;
      const trial: TrialContext = { suggestionId: current.suggestionId, report: (resource, value, metrics) => w.report(current.suggestionId, resource, value, metrics) };
      let values: number | Record<string, number> | undefined;
      let error: string | undefined;
      try {
        values = await objective(current.config, trial);
      } catch (e) {
        error = (e as Error)?.message ?? String(e);
      }
      if (w.isLost(current.suggestionId)) {
        summary.lost++;
        s = await w.ask();
        continue;
      }
      // the observation and the next suggestion in one step
      const { next, refused } = await w.tellAndAsk(current.suggestionId, values, { failed: error !== undefined, metadata: error ? { error } : {} });
      s = next;
      if (refused !== undefined) summary.lost++;
      else {
        summary.observations++;
        if (error !== undefined && ++summary.failed > maxFailures) {
          state.failure ??= failureError(`${summary.failed} evaluations failed in this process, more than max_failures=${maxFailures}; last: ${error}`);
        }
      }
    }
    // a suggestion claimed with the last tell, not to be evaluated (this process fails): given up at once
    if (s) await w.abandon(s.suggestionId);
  };
  await Promise.all(workers.map(loop));
  return summary;
}
