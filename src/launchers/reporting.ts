import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { Tuner } from '../tuner/tuner.js';
import type { TrialRecord, TunerCallback } from '../tuner/types.js';
import { formatValue } from '../util/table.js';

export type Log = (line: string) => void;

const fmt = (v: unknown) => (typeof v === 'number' ? formatValue(v) : v);

/** "at 3: loss=0.25" of a trial's last result; a trial stopped before it reported has none. */
const lastResultText = (trial: TrialRecord, metric: string) => {
  const r = trial.lastResult;
  if (!r) return 'before its first report';
  const v = r.metrics[metric];
  return `at ${r.resource}: ${v === undefined ? `no ${metric} reported` : `${metric}=${fmt(v)}`}`;
};

/** What a progress line shows: always the label, percentage and best value; details and the bar as room allows. */
export interface ProgressLine {
  label: string;
  /** Done, in [0, 1]. */
  fraction: number;
  /** e.g. `best valid_loss 0.0988128` */
  best: string;
  /** Shown in this order while they fit, e.g. `12/20s simulated`, `214 trials`. */
  details: string[];
}

/**
 * One progress line of at most `width` columns. A terminal cuts a longer line at its right edge, and
 * the best value, the one figure a user watches for, was at its end: here it comes right after the
 * percentage, and a long label is shortened before it is dropped.
 */
export function fitProgressLine(width: number, p: ProgressLine): string {
  const max = Math.max(20, width - 1); // writing the last column makes some terminals wrap
  const pct = `${Math.floor(Math.min(1, Math.max(0, p.fraction)) * 100)}%`;
  const tail = ` ${pct} | ${p.best}`;
  let label = p.label;
  if (label.length + tail.length > max) label = `${label.slice(0, Math.max(1, max - tail.length - 1))}…`;
  // then a bar of at least 10 cells, then the details while they fit, then a longer bar (up to 30)
  const minBar = label.length + tail.length + 13 <= max ? 10 : 0;
  const reserved = minBar ? minBar + 3 : 0;
  let details = '';
  for (const d of p.details) if (label.length + tail.length + reserved + details.length + d.length + 3 <= max) details += ` | ${d}`;
  const barSize = minBar ? Math.min(30, max - label.length - tail.length - details.length - 3) : 0;
  const filled = Math.round(barSize * Math.min(1, Math.max(0, p.fraction)));
  const bar = barSize ? ` [${'\u2588'.repeat(filled)}${'\u2591'.repeat(barSize - filled)}]` : '';
  return `${label}${bar}${tail}${details}`.slice(0, max);
}

const activeBars = new Set<cliProgress.SingleBar>();

/**
 * A single-line bar drawn by `line` at the terminal's width (read at every redraw, so a resize is
 * followed). cli-progress (17 modules) is required here, when a terminal shows a bar: not at start-up.
 */
function progressBar(line: (width: number) => string): cliProgress.SingleBar {
  const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
  return new SingleBar({ format: (_o, params) => line(params.maxWidth), hideCursor: true, clearOnComplete: false });
}

function startBar(bar: cliProgress.SingleBar, total: number, value: number): void {
  activeBars.add(bar);
  bar.start(total, value);
}

function stopBar(bar: cliProgress.SingleBar): void {
  activeBars.delete(bar);
  bar.stop();
}

/**
 * Ends the progress bars on the screen (their last state stays, on its own line), so that a message,
 * a signal's say, starts a clean line instead of running on after the bar and the echoed ^C.
 */
export function stopProgressBars(): void {
  for (const bar of activeBars) {
    // the terminal echoed ^C after the bar: erase the line and have the final render draw it again
    // (cli-progress redraws only a changed line, and keeps the last one in lastDrawnString)
    process.stderr.write('\r\x1b[K');
    (bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
    stopBar(bar);
  }
}

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
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} completed ${lastResultText(trial, metric)}`);
      } else if (trial.status === 'failed') {
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} failed${trial.lastResult ? ` after ${trial.lastResult.resource}` : ' before its first report'}: ${trial.error}`);
      }
    },
  };
}

/** The best so far in a few words: `best <metric> <value>`, or with several objectives the front's size. */
function bestWords(t: Tuner, metric: string): string {
  const front = t.paretoFront;
  if (front) return `Pareto front of ${front.length}`;
  return `best ${metric} ${t.bestSoFar ? fmt(t.bestSoFar.value) : '-'}`;
}

/** Without a terminal: one plain line per trial that ends, with the best feasible value so far. */
export function trialLinesCallback(log: Log, metric: string, maxTrials?: number): TunerCallback {
  let ended = 0;
  return {
    onTrialEnd(tuner, trial) {
      ended++;
      const best = tuner.paretoFront?.length ? bestWords(tuner, metric) : tuner.bestSoFar ? `best ${metric} ${fmt(tuner.bestSoFar.value)} (trial ${tuner.bestSoFar.trialId})` : 'no feasible result yet';
      const what = trial.status === 'failed' ? `failed: ${trial.error}` : `${trial.status} ${lastResultText(trial, metric)}`;
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
  let state = { value: 0, elapsed: 0, best: `best ${metric} -` };
  const bar = progressBar((width) =>
    fitProgressLine(width, { label, fraction: state.value / total, best: state.best, details: [`${state.value}/${total} ${unit}`, `${state.elapsed}s`] }),
  );
  const payload = (t: Tuner) => {
    state = { value: Math.min(total, done(t)), elapsed: Math.round(t.tunerTime), best: bestWords(t, metric) };
    return state;
  };
  const update = (t: Tuner) => bar.update(payload(t).value);
  return {
    onStart(t) {
      startBar(bar, total, payload(t).value);
    },
    onTrialStart: update,
    onResult: update,
    onEnd(t) {
      update(t);
      stopBar(bar);
    },
  };
}

/** A progress bar over the simulated time budget, on a terminal only. */
export function progressBarCallback(label: string, maxTime: number, metric: string): TunerCallback {
  let state = { time: 0, trials: 0, best: `best ${metric} -` };
  const bar = progressBar((width) =>
    fitProgressLine(width, { label, fraction: state.time / maxTime, best: state.best, details: [`${state.time}/${maxTime}s simulated`, `${state.trials} trials`] }),
  );
  let n = 0;
  const payload = (tuner: Tuner) => {
    state = { time: Math.round(Math.min(maxTime, tuner.tunerTime)), trials: tuner.trials.size, best: bestWords(tuner, metric) };
    return state;
  };
  return {
    onStart(tuner) {
      startBar(bar, maxTime, payload(tuner).time);
    },
    onResult(tuner) {
      if (++n % 64 === 0) bar.update(payload(tuner).time);
    },
    onEnd(tuner) {
      bar.update(payload(tuner).time);
      stopBar(bar);
    },
  };
}
