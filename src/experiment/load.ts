import { experimentFileOptions } from '../methods/registry.js';
import { acceptHabits, nameSlug } from './habits.js';
import { didYouMeanText } from '../util/did-you-mean.js';
import type { BestRule } from '../results/best.js';
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { z } from 'zod';
import { type Config, type ConfigSpace, type Domain, type Value, conditionProblems, validateConfig, choice, lograndint, loguniform, ordinal, randint, uniform, when } from '../config-space/index.js';
import type { MethodOptions } from '../methods/registry.js';
import type { Objective } from '../results/pareto.js';
import type { Constraint } from '../schedulers/constraints.js';
import type { Mode } from '../schedulers/types.js';
import { UserError } from '../util/errors.js';
import { type ExperimentFileData, type ParameterData, experimentSchema } from './schema.js';


/** An experiment file, validated and resolved: what `run` and a study need. */
export interface ExperimentDefinition {
  name: string;
  /** Absolute path of the file, when it came from one. */
  file?: string;
  /** The file as parsed (stored in metadata.json). */
  source: ExperimentFileData;
  configSpace: ConfigSpace;
  /** The first objective (the only one of a single-objective file). */
  metric: string;
  mode: Mode;
  /** Every `strategy: optimize` metric in file order; several make a multi-objective experiment. */
  objectives: Objective[];
  constraints: Constraint[];
  /** Metrics recorded only. */
  storeMetrics: string[];
  /** Undefined when the file has none: `run` then needs one after `--`; an in-process study (study.optimize) needs none. */
  command?: string[] | string;
  cwd: string;
  /** The file's plain `env:` values (stored with the experiment). */
  env: Record<string, string>;
  /** Trial variable → the runner's variable it is read from at run time (`{from_env: VAR}`; never stored). */
  envFromRunner: Record<string, string>;
  resource?: { name: string; max: number };
  /** Given in the file, or undefined: the caller picks the default (BO without a resource, ASHA with one). */
  method?: string;
  methodOptions: MethodOptions;
  budget: { maxTrials?: number; maxWallclockTime?: number; maxResults?: number };
  parallelBandwidth: number;
  trialTimeout?: number;
  /** What one trial needs on a cluster (the file's `resources`; memory in MB). */
  resources?: { cpus?: number; gpus?: number; memory?: number };
  maxFailures: number;
  randomSeed?: number;
  /** What a trial's value is, and so which trial is the best (src/results/best.ts). */
  best: BestRule;
  /** Configs tried first (constants filled in), validated against the space. */
  pointsToEvaluate: Config[];
  /** What the file holds that tunelab accepts but ignores (SigOpt's `type: offline`), to be said once. */
  notes: string[];
  /** The `study:` block with its defaults (initialRandom undefined: the method's default). */
  study: StudySettings;
}

/**
 * Bounds of an experiment file, far above any real search space (SigOpt allows 100 parameters): a
 * file past them is refused with a message before it is parsed, instead of keeping the process busy
 * (deaf to signals) for minutes.
 */
export const MAX_EXPERIMENT_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_PARAMETERS = 10_000;
/** Values a YAML file may expand to through its aliases (`*ref`): a few aliases of aliases can otherwise stand for billions. */
export const MAX_EXPANDED_VALUES = 1_000_000;

/** Throws once `data`, read as the tree its aliases make of it, holds more than `limit` values; stops there, so it costs O(limit). */
function checkExpandedSize(data: unknown, limit: number): void {
  let count = 0;
  const stack = [data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (++count > limit) throw new UserError(`its aliases expand it to more than ${limit.toLocaleString('en-US')} values`);
    if (value !== null && typeof value === 'object') for (const child of Object.values(value)) stack.push(child);
  }
}

/** The single-fidelity "resource" of an experiment without one: the count of the trial's reports. */
export const REPORT_COUNT_ATTR = 'iteration';

/** The resource attribute of an experiment's results rows: its `resource.name`, else the report count. */
export const resourceAttrOf = (d: Pick<ExperimentDefinition, 'resource'>): string => d.resource?.name ?? REPORT_COUNT_ATTR;

/** A shared study's knobs (the experiment file's `study:` block). */
export interface StudySettings {
  initialRandom?: number;
  buffer: number;
  maxThreshold: number;
  batchWindow: number;
  leaseSeconds: number;
  recover: 'reassign' | 'abandon';
}

const pathText = (path: readonly PropertyKey[]) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '') || '(top level)';

const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** The keys an object schema at `path` accepts (for "unknown key" messages). */
function acceptedKeys(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = experimentSchema;
  for (const p of path) {
    s = unwrap(s);
    const def = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } }).def;
    if (def.type === 'object' && typeof p === 'string' && def.shape?.[p]) s = def.shape[p];
    else if (def.type === 'array' && typeof p === 'number' && def.element) s = def.element;
    else return [];
  }
  const def = (unwrap(s) as unknown as { def: { type: string; shape?: Record<string, unknown> } }).def;
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'optional' || def.type === 'default') && def.innerType) s = def.innerType;
    else return s;
  }
}

/** "an object", "an array", "a string". */
const withArticle = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

function expectedText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.expected === 'int' ? 'an integer' : withArticle(issue.expected);
  if (issue.code === 'invalid_union') {
    const alternatives = issue.errors.flatMap((branch) => branch.filter((e) => e.path.length === 0).map(expectedText));
    return [...new Set(alternatives)].join(' or ') || 'another value';
  }
  return issue.message;
}

/** One line per problem: where, what was given, what is accepted. */
function issueText(issue: z.core.$ZodIssue): string {
  const where = pathText(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'${didYouMeanText(k, acceptedKeys(issue.path), (c) => `'${c}'`)}`).join(', ')}; accepted keys: ${acceptedKeys(issue.path).join(', ')}`;
    case 'invalid_value':
      return `${where}: ${show(issue.input)} is not accepted; expected one of ${issue.values.map((v) => String(v)).join(', ')}${typeof issue.input === 'string' ? didYouMeanText(issue.input, issue.values.map(String)) : ''}`;
    case 'invalid_type':
    case 'invalid_union':
      return issue.input === undefined ? `${where}: missing; expected ${expectedText(issue)}` : `${where}: expected ${expectedText(issue)}, got ${show(issue.input)}`;
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      if (issue.origin === 'array') return `${where}: expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} item(s), got ${show(issue.input)}`;
      return `${where}: expected a ${issue.origin} ${op} ${bound}, got ${show(issue.input)}`;
    }
    default:
      return `${where}: ${issue.message}${issue.input !== undefined && typeof issue.input !== 'object' ? ` (got ${show(issue.input)})` : ''}`;
  }
}

/** Checks what the schema's shapes cannot express; returns problems as "path: message" lines. */
function semanticProblems(d: ExperimentFileData, { methods: knownMethods, multiFidelityMethods, multiObjectiveMethods = [], fixedParameters = {} }: ExperimentFileOptions): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  d.parameters.forEach((p, i) => {
    const at = `parameters[${i}] (${p.name})`;
    if (seen.has(p.name)) problems.push(`${at}: duplicate parameter name '${p.name}'`);
    seen.add(p.name);
    problems.push(...parameterProblems(p).map((m) => `${at}: ${m}`));
  });
  (d.conditionals ?? []).forEach((c, i) => {
    const at = `conditionals[${i}] (${c.name})`;
    if (seen.has(c.name)) problems.push(`${at}: the name '${c.name}' is taken by ${d.parameters.some((p) => p.name === c.name) ? 'a parameter' : 'another conditional'}`);
    seen.add(c.name);
    if (new Set(c.values).size !== c.values.length) problems.push(`${at}.values: duplicate values in ${show(c.values)}`);
  });
  const optimized = d.metrics.filter((m) => m.strategy === 'optimize');
  if (optimized.length === 0) problems.push(`metrics: at least one metric needs strategy 'optimize', found none`);
  const multiObjective = optimized.length > 1;
  if (multiObjective && d.method !== undefined && knownMethods.includes(d.method) && !multiObjectiveMethods.includes(d.method)) {
    problems.push(`method: ${d.method} optimises one objective, and this file has ${optimized.length} (${optimized.map((m) => m.name).join(', ')}); methods for several objectives: ${multiObjectiveMethods.join(', ')}`);
  }
  const metricNames = new Set<string>();
  d.metrics.forEach((m, i) => {
    const at = `metrics[${i}] (${m.name})`;
    if (metricNames.has(m.name)) problems.push(`${at}: duplicate metric name '${m.name}'`);
    metricNames.add(m.name);
    if (m.strategy !== 'store' && !m.objective) problems.push(`${at}.objective: missing; expected minimize or maximize`);
    if (m.strategy === 'constraint' && m.threshold === undefined) problems.push(`${at}.threshold: missing; a constraint metric needs a threshold`);
    if (m.strategy !== 'constraint' && m.threshold !== undefined) problems.push(`${at}.threshold: only a metric with strategy 'constraint' takes a threshold`);
    if (d.resource && m.name === d.resource.name) problems.push(`${at}: the metric has the resource's name '${m.name}'`);
    if (RESERVED_COLUMNS.includes(m.name)) problems.push(`${at}: '${m.name}' is a column tunelab writes itself; rename the metric`);
  });
  const b = d.budget;
  if (b.max_trials === undefined && b.max_wallclock_time === undefined && b.max_results === undefined) {
    problems.push('budget: give at least one of max_trials, max_wallclock_time, max_results (any of them ends the run)');
  }
  if (d.method !== undefined) {
    const names = d.parameters.map((p) => p.name);
    const fits = (m: string) => (fixedParameters[m] ?? []).every((p) => names.includes(p)) && (d.resource || !multiFidelityMethods.includes(m));
    const missing = (fixedParameters[d.method] ?? []).filter((p) => !names.includes(p));
    if (!knownMethods.includes(d.method)) problems.push(`method: unknown method '${d.method}'; methods that fit this file: ${knownMethods.filter(fits).join(', ')}${didYouMeanText(d.method, knownMethods, (c) => `'${c}'`)}`);
    else if (missing.length) problems.push(`method: ${d.method} fixes ${missing.join(', ')}, which this file's parameters do not have; methods that fit this file: ${knownMethods.filter(fits).join(', ')}`);
    else if (multiFidelityMethods.includes(d.method) && !d.resource) {
      problems.push(`method: ${d.method} stops or pauses trials at resource levels, so the file needs resource: {name: epoch, max: N} (or use BO or RS)`);
    }
  }
  const options = d.method_options ?? {};
  const method = d.method ?? defaultMethod(Boolean(d.resource), multiObjective);
  const hyperband = multiFidelityMethods.includes(method);
  for (const key of ['grace_period', 'reduction_factor', 'brackets'] as const) {
    if (options[key] !== undefined && !hyperband) problems.push(`method_options.${key}: applies to the multi-fidelity methods (${multiFidelityMethods.join(', ')}), not ${method}`);
  }
  if (options.num_init_random !== undefined && !/BO|MOBSTER/.test(method)) problems.push(`method_options.num_init_random: applies to BO and MOBSTER, not ${method}`);
  if (options.multivariate !== undefined && !/TPE/.test(method)) problems.push(`method_options.multivariate: applies to TPE and ASHA-TPE, not ${method}`);
  if (options.grid_points !== undefined && method !== 'GRID') problems.push(`method_options.grid_points: applies to GRID, not ${method}`);
  if (options.min_model_points !== undefined && !/MOBSTER/.test(method)) problems.push(`method_options.min_model_points: applies to MOBSTER, not ${method}`);
  if (options.grace_period !== undefined && d.resource && options.grace_period > d.resource.max) {
    problems.push(`method_options.grace_period: ${options.grace_period} exceeds resource.max ${d.resource.max}`);
  }
  return problems;
}

/** Columns every results file has (src/tuner/tuner.ts); a metric may not take one of these names. */
const RESERVED_COLUMNS = ['trial_id', 'st_tuner_time', 'st_worker_time', 'st_worker_iter', 'st_decision', 'st_status'];

function parameterProblems(p: ParameterData): string[] {
  const out: string[] = [];
  const numeric = p.type === 'int' || p.type === 'double';
  const allowed: Record<ParameterData['type'], (keyof ParameterData)[]> = {
    int: ['bounds', 'log', 'grid', 'value'],
    double: ['bounds', 'log', 'grid', 'value'],
    categorical: ['categorical_values', 'value'],
    ordinal: ['values', 'value'],
  };
  for (const key of ['bounds', 'log', 'categorical_values', 'values', 'grid'] as const) {
    if (p[key] !== undefined && !allowed[p.type].includes(key)) out.push(`'${key}' does not apply to type ${p.type} (it takes ${allowed[p.type].join(', ')})`);
  }
  if (p.when && p.conditions) out.push("give 'when' or SigOpt's 'conditions', not both");
  if (p.value !== undefined && (p.when || p.conditions)) out.push(`${p.when ? 'when' : 'conditions'}: a fixed value (value: ${show(p.value)}) is always passed; a condition applies to a tuned parameter`);
  if (p.value !== undefined) {
    if (numeric && (typeof p.value !== 'number' || (p.type === 'int' && !Number.isInteger(p.value)))) out.push(`value: expected ${p.type === 'int' ? 'an integer' : 'a number'}, got ${show(p.value)}`);
    return out;
  }
  if (numeric) {
    if (p.grid) {
      // a grid lists the values itself: bounds or log beside it would be ignored, so they are refused
      for (const key of ['bounds', 'log'] as const) if (p[key] !== undefined) out.push(`${key}: does not go with grid (the grid lists the values); give grid, or bounds${key === 'log' ? ' with log' : ''}`);
      if (p.type === 'int' && p.grid.some((v) => !Number.isInteger(v))) out.push(`grid: an int parameter needs integer grid values, got ${show(p.grid)}`);
      if (new Set(p.grid).size !== p.grid.length) out.push(`grid: duplicate values in ${show(p.grid)}`);
      return out;
    }
    if (!p.bounds) return [...out, `bounds: missing; type ${p.type} needs bounds: {min, max} (or grid: [...] or value: ...)`];
    const { min, max } = p.bounds;
    if (!(min < max)) out.push(`bounds: min ${min} must be below max ${max}`);
    if (p.type === 'int' && !(Number.isInteger(min) && Number.isInteger(max))) out.push(`bounds: an int parameter needs integer bounds, got {min: ${min}, max: ${max}}`);
    if (p.log && !(min > 0)) out.push(`bounds: log: true needs min > 0, got ${min}`);
  } else if (p.type === 'categorical') {
    const names = categoricalNames(p);
    if (!names) out.push('categorical_values: missing; list the categories, e.g. [relu, tanh]');
    else if (new Set(names).size !== names.length) out.push(`categorical_values: duplicate values in ${show(names)}`);
  } else {
    if (!p.values) out.push('values: missing; an ordinal parameter lists its ordered values, e.g. [16, 32, 64]');
    else if (new Set(p.values).size !== p.values.length) out.push(`values: duplicate values in ${show(p.values)}`);
  }
  return out;
}

const categoricalNames = (p: ParameterData) => p.categorical_values?.map((v) => (typeof v === 'string' ? v : v.name));

/** A parameter as a tunelab domain (or a constant), conditional if it has `when` or `conditions`. Assumes parameterProblems found nothing. */
function parameterDomain(p: ParameterData): ConfigSpace[string] {
  if (p.value !== undefined) return p.value as Value;
  const condition = p.when ?? p.conditions;
  const domain = unconditionalDomain(p);
  return condition ? when(condition, domain) : domain;
}

function unconditionalDomain(p: ParameterData): Domain {
  switch (p.type) {
    case 'int':
    case 'double': {
      if (p.grid) return ordinal([...p.grid].sort((a, b) => a - b));
      const { min, max } = p.bounds!;
      if (p.type === 'int') return p.log ? lograndint(min, max) : randint(min, max);
      return p.log ? loguniform(min, max) : uniform(min, max);
    }
    case 'categorical':
      return choice(categoricalNames(p)!);
    case 'ordinal':
      return ordinal(p.values!);
  }
}

/** The method of a file that names none: ASHA with a resource, BO without; their multi-objective kin for several objectives. */
export function defaultMethod(resource: boolean, multiObjective: boolean): string {
  if (multiObjective) return resource ? 'MO-ASHA' : 'MO-BO';
  return resource ? 'ASHA' : 'BO';
}

export interface ExperimentFileOptions {
  /** Method names that may be given, and those that need a resource. */
  methods: readonly string[];
  multiFidelityMethods: readonly string[];
  /** Methods that optimise several objectives (a file with several `optimize` metrics needs one). */
  multiObjectiveMethods?: readonly string[];
  /** Per method, the hyperparameters it fixes (ASHA-TANH's activations): it fits only a file that has them. */
  fixedParameters?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Validates parsed experiment data. All problems are reported at once in one UserError (exit 2),
 * each naming its path, the value given and what is accepted.
 */
export function parseExperiment(data: unknown, options: ExperimentFileOptions, origin?: { file: string }): ExperimentDefinition {
  const where = origin?.file ?? 'experiment';
  const parameters = (data as { parameters?: unknown } | null)?.parameters;
  if (Array.isArray(parameters) && parameters.length > MAX_PARAMETERS) {
    throw new UserError(`${where}: parameters: ${parameters.length} parameters; at most ${MAX_PARAMETERS} are accepted`);
  }
  const habits = acceptHabits(data, options.methods);
  const parsed = experimentSchema.safeParse(habits.data, { reportInput: true });
  const problems = [...habits.problems, ...(parsed.success ? semanticProblems(parsed.data, options) : parsed.error.issues.map(issueText))];
  if (problems.length > 0) {
    throw new UserError(`${where}: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const d = parsed.data!;
  const mode = (objective: string | undefined): Mode => (objective === 'maximize' ? 'max' : 'min');
  const objectives = d.metrics.filter((m) => m.strategy === 'optimize').map((m) => ({ metric: m.name, mode: mode(m.objective) }));
  const baseDir = origin ? dirname(origin.file) : process.cwd();
  const mo = d.method_options ?? {};
  const configSpace = experimentConfigSpace(d, where);
  const pointsToEvaluate = (d.points_to_evaluate ?? []).map((p) => ({ ...constants(d), ...p }));
  const pointProblems = pointsToEvaluate.flatMap((p, i) => {
    const unknown = Object.keys(p).filter((k) => !(k in configSpace));
    if (unknown.length) return [`points_to_evaluate[${i}]: unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'${didYouMeanText(k, Object.keys(configSpace), (c) => `'${c}'`)}`).join(', ')}`];
    try {
      validateConfig(configSpace, p);
      return [];
    } catch (e) {
      return [`points_to_evaluate[${i}]: ${(e as Error).message}`];
    }
  });
  if (pointProblems.length) throw new UserError(`${where}: ${pointProblems.length} problem${pointProblems.length > 1 ? 's' : ''}:\n${pointProblems.map((p) => `  - ${p}`).join('\n')}`);
  return {
    name: nameSlug(d.name),
    file: origin?.file,
    source: d,
    configSpace,
    metric: objectives[0].metric,
    mode: objectives[0].mode,
    objectives,
    constraints: d.metrics.filter((m) => m.strategy === 'constraint').map((m) => ({ metric: m.name, mode: mode(m.objective), threshold: m.threshold! })),
    storeMetrics: d.metrics.filter((m) => m.strategy === 'store').map((m) => m.name),
    command: d.command,
    cwd: resolve(baseDir, d.cwd ?? '.'),
    env: Object.fromEntries(Object.entries(d.env ?? {}).flatMap(([k, v]) => (typeof v === 'object' ? [] : [[k, String(v)]]))),
    envFromRunner: Object.fromEntries(Object.entries(d.env ?? {}).flatMap(([k, v]) => (typeof v === 'object' ? [[k, v.from_env]] : []))),
    resource: d.resource,
    method: d.method,
    methodOptions: { gracePeriod: mo.grace_period, reductionFactor: mo.reduction_factor, brackets: mo.brackets, numInitRandom: mo.num_init_random, gridPoints: mo.grid_points, multivariate: mo.multivariate, minModelPoints: mo.min_model_points },
    budget: { maxTrials: d.budget.max_trials, maxWallclockTime: d.budget.max_wallclock_time, maxResults: d.budget.max_results },
    parallelBandwidth: d.parallel_bandwidth,
    trialTimeout: d.trial_timeout,
    resources: d.resources,
    maxFailures: d.max_failures,
    randomSeed: d.random_seed,
    best: d.best,
    notes: habits.notes,
    pointsToEvaluate,
    study: studySettings(d.study),
  };
}

/**
 * The variables an experiment adds to its trials' environment: its plain values, and each
 * `{from_env: VAR}` read from `from` (the runner's environment) now; one that is not set is a
 * UserError naming it, before anything runs.
 */
export function trialEnvironment(d: Pick<ExperimentDefinition, 'env' | 'envFromRunner' | 'file' | 'name'>, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const missing = Object.entries(d.envFromRunner).filter(([, v]) => from[v] === undefined);
  if (missing.length > 0) {
    const list = missing.map(([k, v]) => `env.${k} (from_env: ${v})`).join(', ');
    throw new UserError(`${d.file ?? d.name}: ${list}: ${missing.length > 1 ? 'these variables are' : 'the variable is'} not set in this environment; set ${missing.map(([, v]) => v).join(', ')} before running (a from_env value is read when the run starts and never stored)`);
  }
  return { ...d.env, ...Object.fromEntries(Object.entries(d.envFromRunner).map(([k, v]) => [k, from[v]!])) };
}

/** The command trials run: the file's, or one given instead (`-- <command>`); none is a UserError saying where to give it. */
export function trialCommand(d: Pick<ExperimentDefinition, 'command' | 'file' | 'name'>, given?: readonly string[] | string): string[] | string {
  if (typeof given === 'string' && given) return given;
  if (Array.isArray(given) && given.length) return [...given];
  if (d.command !== undefined) return d.command;
  throw new UserError(`${d.file ?? d.name}: no command to run the trials with: add command: [...] to the file, or give it after --`);
}

/**
 * The file's config space: SigOpt's conditionals first (each a choice of its values), then the
 * parameters. Bad conditions (a parameter that does not exist, a value outside its parameter, a
 * cycle) are one UserError naming each.
 */
function experimentConfigSpace(d: ExperimentFileData, where: string): ConfigSpace {
  const space: ConfigSpace = Object.fromEntries([...(d.conditionals ?? []).map((c) => [c.name, choice(c.values)]), ...d.parameters.map((p) => [p.name, parameterDomain(p)])]);
  const problems = conditionProblems(space).map(({ name, message }) => {
    const i = d.parameters.findIndex((p) => p.name === name);
    return `parameters[${i}] (${name}).${d.parameters[i].when ? 'when' : 'conditions'}: ${message}`;
  });
  if (problems.length) throw new UserError(`${where}: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return space;
}

/** The fixed parameters' values, which every config carries. */
function constants(d: ExperimentFileData): Config {
  return Object.fromEntries(d.parameters.filter((p) => p.value !== undefined).map((p) => [p.name, p.value as Value]));
}

function studySettings(s: ExperimentFileData['study']): StudySettings {
  // the block's defaults live in the schema; an absent block takes them too
  const d = s ?? experimentSchema.shape.study.unwrap().parse({});
  return { initialRandom: d.initial_random, buffer: d.buffer, maxThreshold: d.max_threshold, batchWindow: d.batch_window, leaseSeconds: d.lease_seconds, recover: d.recover };
}

/** Reads `experiment.yml` (or `.yaml`, `.json`) and validates it; any problem is a UserError naming the file. */
export async function loadExperimentFile(path: string, options: ExperimentFileOptions): Promise<ExperimentDefinition> {
  const file = resolve(path);
  const ext = extname(file).toLowerCase();
  if (!['.json', '.yml', '.yaml'].includes(ext)) throw new UserError(`${file}: an experiment file ends in .yml, .yaml or .json, not '${ext}'`);
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > MAX_EXPERIMENT_FILE_BYTES) {
      throw new UserError(`${file}: ${(size / 1024 / 1024).toFixed(1)} MB; an experiment file may hold at most ${MAX_EXPERIMENT_FILE_BYTES / 1024 / 1024} MB (and ${MAX_PARAMETERS} parameters)`);
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read experiment file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    if (ext === '.json') data = JSON.parse(text);
    else {
      // js-yaml: one module, where the `yaml` package's 72 cost every `run -f` 50 ms more CPU at start-up;
      // YAML 1.2's core schema, so `yes` and dates stay strings
      const { load, CORE_SCHEMA } = await import('js-yaml');
      data = load(text, { schema: CORE_SCHEMA, filename: file });
      checkExpandedSize(data, MAX_EXPANDED_VALUES);
    }
  } catch (e) {
    throw new UserError(`${file}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return parseExperiment(data, options, { file });
}

/**
 * One step from an experiment file's path, or its content as a plain object (what a SigOpt user
 * passes to sigopt.create_experiment), or a definition already loaded, to a validated definition.
 */
export async function loadExperiment(source: string | Readonly<Record<string, unknown>> | ExperimentDefinition, options: ExperimentFileOptions = experimentFileOptions()): Promise<ExperimentDefinition> {
  if (typeof source === 'string') return loadExperimentFile(source, options);
  if ('configSpace' in source && 'source' in source) return source as ExperimentDefinition;
  return parseExperiment(source, options);
}
