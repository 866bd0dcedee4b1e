import cliProgress from 'cli-progress';
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
      if (trial.status === 'completed' || trial.status === 'failed') {
        log(`${prefix} ${time(tuner.tunerTime)} trial ${trial.id} ${trial.status} at ${trial.lastResult?.resource}: ${metric}=${fmt(trial.lastResult?.metrics[metric])}`);
      }
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
