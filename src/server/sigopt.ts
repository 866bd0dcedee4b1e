import type { Config } from '../config-space/index.js';
import type { ExperimentDefinition } from '../experiment/load.js';
import type { ExperimentFileData, ExperimentFileInput } from '../experiment/schema.js';
import type { ObservationRecord, StudyRecord, SuggestionRecord } from '../study/storage/store.js';
import { UserError } from '../util/errors.js';
import type { ApiExperiment, ApiMetricEvaluation, ApiObservation, ApiSuggestion } from '../study/wire.js';

/**
 * SigOpt's v1 objects ↔ tunelab's study: an experiment body becomes an experiment file (DESIGN.md
 * §8, SigOpt's vocabulary already), and the store's records become SigOpt's objects.
 */

export interface SigOptParameter {
  name: string;
  /** ordinal (with `values`) and a fixed `value`: the experiment file's, where SigOpt has none. */
  type: 'int' | 'double' | 'categorical' | 'ordinal';
  bounds?: { min: number; max: number };
  categorical_values?: (string | { name: string })[];
  grid?: number[];
  transformation?: 'none' | 'log';
  values?: (number | string)[];
  value?: number | string | boolean;
  /** conditional name → the values under which the parameter is active */
  conditions?: Record<string, string | string[]>;
}

/** SigOpt's conditional; its values as names or as `{name}` objects (as SigOpt shows them). */
export interface SigOptConditional {
  name: string;
  values: (string | { name: string })[];
}

export interface SigOptMetric {
  name: string;
  objective?: 'maximize' | 'minimize';
  strategy?: 'optimize' | 'constraint' | 'store';
  threshold?: number | null;
}

/** POST /v1/experiments, as the schema let it through. */
export interface ExperimentBody extends Partial<Pick<ExperimentFileInput, 'method' | 'resource' | 'method_options' | 'study' | 'random_seed' | 'max_failures' | 'trial_timeout' | 'command' | 'env' | 'description' | 'cwd' | 'budget' | 'resources' | 'points_to_evaluate' | 'best'>> {
  name: string;
  parameters: SigOptParameter[];
  conditionals?: SigOptConditional[];
  metrics: SigOptMetric[];
  observation_budget: number;
  parallel_bandwidth?: number;
  metadata?: Record<string, unknown>;
}

/** The study's name in the experiment file: SigOpt's names may hold spaces ("Classifier Accuracy"), the file's may not. */
export const fileName = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^([^A-Za-z_])/, '_$1');

/** The experiment file a SigOpt experiment body describes (validated after by parseExperiment, as a file is). */
export function experimentFile(body: ExperimentBody): ExperimentFileInput {
  const { name, parameters, conditionals, metrics, observation_budget, parallel_bandwidth, metadata: _, budget, ...own } = body;
  if (budget?.max_trials !== undefined && budget.max_trials !== observation_budget) {
    throw new UserError(`experiment: 1 problem:\n  - budget.max_trials: ${budget.max_trials} differs from observation_budget ${observation_budget}; give one of them`);
  }
  return {
    ...own,
    name: fileName(name),
    ...(conditionals && { conditionals: conditionals.map((c) => ({ name: c.name, values: c.values.map((v) => (typeof v === 'string' ? v : v.name)) })) }),
    parameters: parameters.map((p) => ({
      name: p.name,
      type: p.type,
      ...(p.bounds && { bounds: { min: p.bounds.min, max: p.bounds.max } }),
      ...(p.transformation === 'log' && { log: true }),
      ...(p.categorical_values && { categorical_values: p.categorical_values.map((v) => (typeof v === 'string' ? v : v.name)) }),
      ...(p.grid && { grid: p.grid }),
      ...(p.values && { values: p.values }),
      ...(p.value !== undefined && { value: p.value }),
      ...(p.conditions && { conditions: p.conditions }),
    })),
    // SigOpt's objective defaults to maximize (the schema filled it in)
    metrics: metrics.map((m) => ({ name: m.name, objective: m.objective, strategy: m.strategy, ...(m.threshold != null && { threshold: m.threshold }) })),
    budget: { ...budget, max_trials: observation_budget },
    ...(parallel_bandwidth !== undefined && { parallel_bandwidth }),
  };
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A study's parameters and metrics as SigOpt shows them. */
function parametersOf(source: ExperimentFileData): unknown[] {
  return source.parameters.map((p) => ({
    object: 'parameter',
    name: p.name,
    type: p.type,
    bounds: p.bounds ? { object: 'bounds', min: p.bounds.min, max: p.bounds.max } : null,
    categorical_values: p.categorical_values ? p.categorical_values.map((v, i) => ({ object: 'categorical_value', name: typeof v === 'string' ? v : v.name, enum_index: i + 1 })) : null,
    grid: p.grid ?? null,
    transformation: p.log ? 'log' : 'none',
    ...(p.values && { values: p.values }),
    conditions: p.conditions ?? p.when ?? {},
  }));
}

/** A study's SigOpt conditionals as SigOpt shows them. */
const conditionalsOf = (source: ExperimentFileData): unknown[] =>
  (source.conditionals ?? []).map((c) => ({ object: 'conditional', name: c.name, values: c.values.map((v, i) => ({ object: 'conditional_value', name: v, enum_index: i + 1 })) }));

/** Where the server keeps value_stddev, which the store has no column for: in the observation's metadata under this key. */
export const STDDEV_KEY = '_value_stddev';

/** A SigOpt observation; of a multimetric experiment (several objectives) `value` is null, as SigOpt's: its metrics are in `values`. */
export function apiObservation(experimentId: number, definition: Pick<ExperimentDefinition, 'metric' | 'objectives'>, o: ObservationRecord, assignments: Config): ApiObservation {
  const { metric } = definition;
  const single = definition.objectives.length === 1;
  const { [STDDEV_KEY]: stddevs, ...metadata } = o.metadata as Record<string, unknown> & { [STDDEV_KEY]?: Record<string, number> };
  const sd = (name: string) => stddevs?.[name] ?? null;
  const values: ApiMetricEvaluation[] = Object.entries(o.values).map(([name, value]) => ({ object: 'metric_evaluation', name, value, value_stddev: sd(name) }));
  return {
    object: 'observation',
    id: String(o.id),
    experiment: String(experimentId),
    suggestion: String(o.suggestionId),
    assignments,
    value: o.failed || !single ? null : o.value,
    value_stddev: o.failed || !single ? null : sd(metric),
    values: o.failed ? [] : values,
    failed: o.failed,
    metadata,
    created: seconds(o.createdAt),
  };
}

export function apiSuggestion(experimentId: number, s: Pick<SuggestionRecord, 'id' | 'config' | 'state' | 'createdAt'>): ApiSuggestion {
  return {
    object: 'suggestion',
    id: String(s.id),
    experiment: String(experimentId),
    assignments: s.config,
    state: s.state === 'open' ? 'open' : 'closed',
    created: seconds(s.createdAt),
    metadata: null,
    deleted: s.state === 'abandoned',
  };
}

export interface Progress {
  count: number;
  first?: ApiObservation;
  last?: ApiObservation;
  best?: ApiObservation;
}

export function apiExperiment(record: StudyRecord, progress: Progress): ApiExperiment {
  const source = record.definition.source;
  const budget = source.budget.max_trials ?? null;
  return {
    object: 'experiment',
    id: String(record.id),
    name: record.name,
    type: 'offline',
    state: 'active',
    created: seconds(record.createdAt),
    parameters: parametersOf(source),
    conditionals: conditionalsOf(source),
    metrics: source.metrics.map((m) => ({ object: 'metric', name: m.name, objective: m.objective ?? null, strategy: m.strategy, threshold: m.threshold ?? null })),
    observation_budget: budget,
    parallel_bandwidth: source.parallel_bandwidth,
    metadata: record.definition.metadata ?? null,
    progress: {
      object: 'progress',
      observation_count: progress.count,
      observation_budget_consumed: progress.count,
      first_observation: progress.first ?? null,
      last_observation: progress.last ?? null,
      best_observation: progress.best ?? null,
    },
    tunelab: { status: record.status, stop_mode: record.stopMode, method: record.definition.method, definition: record.definition },
  };
}
