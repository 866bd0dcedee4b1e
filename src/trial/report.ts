import { REPORT_PREFIX } from './protocol.js';

/**
 * The trial side of the protocol (DESIGN.md §8), for training scripts in JavaScript or TypeScript:
 * `report({ epoch, loss })` prints the one stdout line the tuner parses.
 */
export function report(values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (typeof v !== 'number') throw new TypeError(`report: '${k}' must be a number, got ${typeof v}`);
  }
  // NaN and ±Infinity have no JSON form; written as bare tokens the tuner names them in its error
  const json = JSON.stringify(values, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? `__${v}__` : v)).replace(/"__(NaN|-?Infinity)__"/g, '$1');
  process.stdout.write(`${REPORT_PREFIX}${json}\n`);
}

/** The config this trial evaluates (`$TUNELAB_CONFIG`), or undefined outside a tunelab trial. */
export function trialConfig<T extends Record<string, unknown> = Record<string, number | string>>(): T | undefined {
  const raw = process.env.TUNELAB_CONFIG;
  return raw === undefined ? undefined : (JSON.parse(raw) as T);
}

/** The trial's checkpoint folder (`$TUNELAB_CHECKPOINT_DIR`): state saved here is there again when a paused trial resumes. */
export function checkpointDir(): string | undefined {
  return process.env.TUNELAB_CHECKPOINT_DIR;
}

/** The trial's id (`$TUNELAB_TRIAL_ID`). */
export function trialId(): number | undefined {
  const raw = process.env.TUNELAB_TRIAL_ID;
  return raw === undefined ? undefined : Number(raw);
}
