import { CONTROL } from '../util/path-part.js';
/**
 * What SigOpt's and Optuna's users write in an experiment file, taken with its meaning before the
 * file is validated: SigOpt's `budget: N` and `observation_budget: N` (trials), `transformation: log`,
 * `type: offline` (its experiment type: what tunelab runs anyway, ignored with a note), `float` for
 * `double` (Optuna's word), and names in any case (`method: asha`, `type: Int`).
 */
export interface Habits {
  data: unknown;
  /** Things accepted but ignored, to be printed once. */
  notes: string[];
  problems: string[];
}

/** A name as a folder-name part: runs of anything but letters, digits, _ . - become one '-' (SigOpt's "My Model (v2)" is My-Model-v2). */
export function nameSlug(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|-+$/g, '');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const PARAMETER_TYPES: Record<string, string> = { int: 'int', integer: 'int', double: 'double', float: 'double', categorical: 'categorical', ordinal: 'ordinal' };

export function acceptHabits(data: unknown, methods: readonly string[]): Habits {
  const notes: string[] = [];
  const problems: string[] = [];
  if (!isObject(data)) return { data, notes, problems };
  const d: Record<string, unknown> = { ...data };
  // a newline or an escape sequence in a name would reach folder names, logs and terminals: refused, not slugged
  if (typeof d.name === 'string' && CONTROL.test(d.name)) {
    problems.push(`name: a name of letters, digits, spaces and punctuation, without control characters (got ${JSON.stringify(d.name)})`);
  } else if (typeof d.name === 'string' && d.name.trim() && nameSlug(d.name) !== d.name) {
    if (nameSlug(d.name) === '') problems.push(`name: ${JSON.stringify(d.name)} has no letter or digit to name its folders by`);
    else notes.push(`name ${JSON.stringify(d.name)} names its folders as ${nameSlug(d.name)}`);
  }
  if (d.type !== undefined) {
    if (d.type === 'offline') notes.push("type: offline is SigOpt's experiment type, the one tunelab runs: ignored");
    else problems.push(`type: ${JSON.stringify(d.type)} is not accepted; tunelab runs SigOpt's 'offline' experiments (choose the search with method:, e.g. RS for SigOpt's 'random')`);
    delete d.type;
  }
  if (typeof d.budget === 'number') d.budget = { max_trials: d.budget };
  if (d.observation_budget !== undefined) {
    const budget = isObject(d.budget) ? d.budget : {};
    if (budget.max_trials !== undefined && budget.max_trials !== d.observation_budget) {
      problems.push(`observation_budget: ${JSON.stringify(d.observation_budget)} disagrees with budget.max_trials ${JSON.stringify(budget.max_trials)}; give one of them`);
    }
    d.budget = { ...budget, max_trials: d.observation_budget };
    delete d.observation_budget;
  }
  if (typeof d.method === 'string') d.method = methods.find((m) => m.toLowerCase() === (d.method as string).toLowerCase()) ?? d.method;
  if (Array.isArray(d.parameters)) {
    d.parameters = d.parameters.map((p: unknown, i) => {
      if (!isObject(p)) return p;
      const q: Record<string, unknown> = { ...p };
      if (typeof q.type === 'string') q.type = PARAMETER_TYPES[q.type.toLowerCase()] ?? q.type;
      if (q.transformation !== undefined) {
        if (q.transformation === 'log') {
          if (q.log === false) problems.push(`parameters[${i}]: transformation: log and log: false disagree; give one of them`);
          q.log = true;
        } else if (q.transformation !== 'none') problems.push(`parameters[${i}].transformation: ${JSON.stringify(q.transformation)} is not accepted; expected one of log, none`);
        delete q.transformation;
      }
      return q;
    });
  }
  return { data: d, notes, problems };
}
