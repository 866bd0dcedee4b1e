import cliProgress from 'cli-progress';
import type { Tuner } from '../tuner/tuner.js';
import type { TunerCallback } from '../tuner/types.js';

export type Log = (line: string) => void;

const fmt = (v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v);

/** `--verbose 1`: one line per trial start, resume and end, with configs and metric values. */
export function verboseCallback(prefix: string, log: Log, metric: string): TunerCallback {
  const time = (t: number) => `t=${t.toFixed(1)}s`;
  return {
    onTrialStart(tuner, trial, resumed) {
      const config = Object.entries(trial.config).map(([k, v]) => `${k}=${fmt(v)}`).join(', ');
      log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} ${resumed ? `resumed after ${trial.lastResult?.resource}` : `started: ${config}`}`);
    },
    onResult(tuner, trial, r, decision) {
      if (decision !== 'continue') {
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} ${decision === 'pause' ? 'paused' : 'stopped'} at ${r.result.resource}: ${metric}=${fmt(r.result.metrics[metric])}`);
      }
    },
    onTrialEnd(tuner, trial) {
      if (trial.status === 'completed') {
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} completed at ${trial.lastResult?.resource}: ${metric}=${fmt(trial.lastResult?.metrics[metric])}`);
      } else if (trial.status === 'failed') {
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} failed${trial.lastResult ? ` after ${trial.lastResult.resource}` : ' before its first report'}: ${trial.error}`);
      }
    },
  };
}

/** Without a terminal: one plain line per trial that ends, with the best feasible value so far. */
export function trialLinesCallback(log: Log, metric: string, maxTrials?: number): TunerCallback {
  let ended = 0;
  return {
    onTrialEnd(tuner, trial) {
      ended++;
      const best = tuner.bestSoFar ? `best ${metric} ${fmt(tuner.bestSoFar.value)} (trial ${tuner.bestSoFar.trialId})` : 'no feasible result yet';
      const what =
        trial.status === 'failed'
          ? `failed: ${trial.error}`
          : `${trial.status} at ${trial.lastResult?.resource ?? '-'}: ${metric}=${fmt(trial.lastResult?.metrics[metric])}`;
      log(`t=${tuner.tunerTime.toFixed(1)}s trial ${trial.id} ${what}; ${best}; ${ended}${maxTrials ? `/${maxTrials}` : ''} trials ended`);
    },
  };
}

/** A progress bar over an experiment file's budget (trials, else results, else time), on a terminal. */
export function budgetProgressCallback(label: string, budget: { maxTrials?: number; maxWallclockTime?: number; maxResults?: number }, metric: string): TunerCallback {
  const [unit, total, done]: [string, number, (t: Tuner) => number] =
    budget.maxTrials !== undefined
      ? ['trials', budget.maxTrials, (t) => t.trials.size]
      : budget.maxResults !== undefined
        ? ['results', budget.maxResults, (t) => t.resultsWritten]
        : ['s', budget.maxWallclockTime!, (t) => Math.round(t.tunerTime)];
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} ${unit} | {elapsed}s | best ${metric} {best}`, hideCursor: true, clearOnComplete: false, barsize: 20 },
    cliProgress.Presets.shades_classic,
  );
  const payload = (t: Tuner) => ({ elapsed: Math.round(t.tunerTime), best: t.bestSoFar ? fmt(t.bestSoFar.value) : '-' });
  const update = (t: Tuner) => bar.update(Math.min(total, done(t)), payload(t));
  return {
    onStart(t) {
      bar.start(total, Math.min(total, done(t)), payload(t));
    },
    onTrialStart: update,
    onResult: update,
    onEnd(t) {
      update(t);
      bar.stop();
    },
  };
}

/** A progress bar over the simulated time budget, on a terminal only. */
export function progressBarCallback(label: string, maxTime: number, metric: string): TunerCallback {
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {time}/${maxTime}s simulated | {trials} trials | best ${metric} {best}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let n = 0;
  const payload = (tuner: Parameters<NonNullable<TunerCallback['onStart']>>[0]) => ({
    time: Math.round(tuner.tunerTime),
    trials: tuner.trials.size,
    best: tuner.bestSoFar ? fmt(tuner.bestSoFar.value) : '-',
  });
  return {
    onStart(tuner) {
      bar.start(maxTime, Math.min(maxTime, tuner.tunerTime), payload(tuner));
    },
    onResult(tuner) {
      if (++n % 64 === 0) bar.update(Math.min(maxTime, tuner.tunerTime), payload(tuner));
    },
    onEnd(tuner) {
      bar.update(Math.min(maxTime, tuner.tunerTime), payload(tuner));
      bar.stop();
    },
  };
}

/** A plain-text table with aligned columns. */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((c, j) => c.padEnd(widths[j])).join('  ').trimEnd();
  return [line(cells[0]), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}
