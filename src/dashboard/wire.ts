import type { TrialRow } from './feed.js';
import type { RungCall } from './rungs.js';

type ConfigValue = string | number | boolean;

/**
 * Trials as a page receives them: a column per field (a config's and the metrics' by name), names
 * (worker, host, state) once each. A live page gets thousands of trials a second while writers
 * work; without each row's keys and repeated names the stream is about half as long, and receiving
 * it is most of what a live page costs the browser. The page builds its rows back (client/app.ts).
 */
export interface TrialColumns {
  id: number[];
  /** Worker, host and state names: the columns below hold their index. */
  names: string[];
  state: number[];
  worker: (number | null)[];
  host: (number | null)[];
  value: (number | null)[];
  feasible: (boolean | null)[];
  attempts: number[];
  duration: (number | null)[];
  observedAt: (number | null)[];
  resource: (number | null)[];
  decision: ('continue' | 'stop' | null)[];
  why: (RungCall | null)[];
  error: (string | null)[];
  /** By parameter: its value in each trial's config (null: not in that config). */
  config: Record<string, (ConfigValue | null)[]>;
  /** By metric: its value in each trial (null: not told). */
  metrics: Record<string, (number | null)[]>;
}

export function trialColumns(trials: readonly TrialRow[]): TrialColumns {
  const index = new Map<string, number>();
  const name = (s: string | null) => {
    if (s === null) return null;
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = index.size));
    return i;
  };
  const n = trials.length;
  const config: Record<string, (ConfigValue | null)[]> = {};
  const metrics: Record<string, (number | null)[]> = {};
  const column = <T>(into: Record<string, (T | null)[]>, key: string) => (into[key] ??= new Array<T | null>(n).fill(null));
  const c: TrialColumns = { id: [], names: [], state: [], worker: [], host: [], value: [], feasible: [], attempts: [], duration: [], observedAt: [], resource: [], decision: [], why: [], error: [], config, metrics };
  trials.forEach((t, i) => {
    c.id.push(t.id);
    c.state.push(name(t.state)!);
    c.worker.push(name(t.worker));
    c.host.push(name(t.host));
    c.value.push(t.value);
    c.feasible.push(t.feasible);
    c.attempts.push(t.attempts);
    c.duration.push(t.duration);
    c.observedAt.push(t.observedAt);
    c.resource.push(t.resource);
    c.decision.push(t.decision);
    c.why.push(t.why);
    c.error.push(t.error);
    for (const k in t.config) column(config, k)[i] = t.config[k] as ConfigValue;
    for (const k in t.metrics) column(metrics, k)[i] = t.metrics[k];
  });
  c.names = [...index.keys()];
  return c;
}
