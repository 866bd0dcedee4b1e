import { basename } from 'node:path';
import { formatTable, formatValue } from '../util/table.js';
import { UserError } from '../util/errors.js';
import { type BestTrial, bestTrial } from './best.js';
import { type RunStatus, liveness, loadMetadata, runStatus } from './folder.js';

/**
 * A tag holds several runs (methods × seeds, and repeats): `status`, `best` and `logs` on a tag list
 * them and act on the completed ones, never silently on the newest.
 */

/** One experiment folder of a tag, as the tag commands list it. */
export interface TagRun {
  folder: string;
  method: string;
  benchmark: string;
  seed: number;
  /** `running` whose owner is gone reads as `stopped`: it ended without finishing. */
  state: RunStatus;
  best?: BestTrial;
}

/** The runs of a tag's folders (newest first, as given); an unreadable folder is passed to `skip` and left out. */
export function tagRuns(folders: readonly string[], skip: (message: string) => void): TagRun[] {
  return folders.flatMap((folder) => {
    try {
      const m = loadMetadata(folder);
      let state = runStatus(m);
      if (state === 'running' && liveness(folder).ownerGone) state = 'stopped';
      return [{ folder, method: m.method, benchmark: m.benchmark, seed: m.seed, state, best: bestTrial(folder) }];
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      skip(e.message);
      return [];
    }
  });
}

export function formatTagRuns(runs: readonly TagRun[]): string {
  return formatTable(
    ['folder', 'method', 'seed', 'state', 'best'],
    runs.map((r) => [basename(r.folder), r.method, r.seed, r.state, r.best ? `${r.best.metric}=${formatValue(r.best.value)} (trial ${r.best.trialId})` : '-']),
  );
}

/** The best of a tag on one benchmark: the best trial over the runs it was chosen from, and why those. */
export interface TagBest extends BestTrial {
  folder: string;
  benchmark: string;
  method: string;
  seed: number;
  /** The folders it was chosen over: the completed runs, or every run with a result when none completed. */
  over: string[];
  /** How `over` was chosen, in words. */
  basis: string;
}

const better = (mode: 'min' | 'max', a: number, b: number) => (mode === 'min' ? a < b : a > b);

/**
 * Per benchmark of the tag, its best trial over the completed runs (ties: the newer run's), or, when
 * none completed, over every run that has a result, saying so.
 */
export function bestOfTag(runs: readonly TagRun[]): TagBest[] {
  const out: TagBest[] = [];
  for (const benchmark of [...new Set(runs.map((r) => r.benchmark))].sort()) {
    const mine = runs.filter((r) => r.benchmark === benchmark);
    const completed = mine.filter((r) => r.state === 'completed');
    const withResult = mine.filter((r) => r.best);
    const pool = completed.some((r) => r.best) ? completed : withResult;
    const choice = pool.filter((r) => r.best).reduce<TagRun | undefined>((a, r) => (!a || better(r.best!.mode, r.best!.value, a.best!.value) ? r : a), undefined);
    if (!choice) continue;
    const others = mine.filter((r) => !pool.includes(r)).map((r) => `${basename(r.folder)} ${r.state}`);
    const basis =
      pool === completed
        ? `over its ${completed.length} completed run(s) of ${mine.length}${others.length ? ` (left out: ${others.join(', ')})` : ''}`
        : `no run completed; over the ${pool.length} run(s) with a result of ${mine.length}`;
    out.push({ ...choice.best!, folder: choice.folder, benchmark, method: choice.method, seed: choice.seed, over: pool.map((r) => r.folder), basis });
  }
  return out;
}

/** The runs `logs` prints for a tag: the completed ones, else the running ones, else all; with a sentence saying which. */
export function logRuns(runs: readonly TagRun[]): { runs: TagRun[]; basis: string } {
  for (const state of ['completed', 'running'] as const) {
    const chosen = runs.filter((r) => r.state === state);
    if (chosen.length) return { runs: chosen, basis: `the ${chosen.length} ${state} run(s) of ${runs.length}` };
  }
  return { runs: [...runs], basis: `all ${runs.length} run(s), none completed or running` };
}
