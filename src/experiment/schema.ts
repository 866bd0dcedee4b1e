import type { z as zt } from 'zod';
import { z } from './zod.js';

/**
 * The experiment file (DESIGN.md §8), in SigOpt's vocabulary: parameters, metrics with constraints,
 * the training command, budget and parallel bandwidth. One schema for `tunelab run -f` and
 * `tunelab study create -f`. Every object is strict, so a misspelt key is an error naming it.
 */

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a name of letters, digits, _ . - (starting with a letter or _)');
const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const parameterSchema = z
  .object({
    name,
    type: z.enum(['int', 'double', 'categorical', 'ordinal']),
    bounds: z.object({ min: z.number(), max: z.number() }).strict().optional(),
    log: z.boolean().optional(),
    /** SigOpt writes them as names or as `{name}` objects */
    categorical_values: z.array(z.union([z.string(), z.object({ name: z.string() }).strict()])).min(1).optional(),
    /** ordinal: the ordered values */
    values: z.array(z.union([z.number(), z.string()])).min(1).optional(),
    /** int or double restricted to these values (a finrange-like ordinal) */
    grid: z.array(z.number()).min(1).optional(),
    /** a fixed value: the parameter is passed to the script but not tuned */
    value: scalar.optional(),
    /** active only when each named parameter takes one of the given values (`when: {optimizer: sgd}`); else absent from the trial's config */
    when: z.record(z.string(), z.union([scalar, z.array(scalar).min(1)])).optional(),
    /** SigOpt's form of `when`: conditional name → the values under which the parameter is active */
    conditions: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
  })
  .strict();

/** SigOpt's conditionals: a choice (the values are strings) that parameters' `conditions` name; it is suggested like a categorical parameter. */
export const conditionalSchema = z.object({ name, values: z.array(z.string()).min(1) }).strict();

export const metricSchema = z
  .object({
    name,
    objective: z.enum(['minimize', 'maximize']).optional(),
    strategy: z.enum(['optimize', 'constraint', 'store']).default('optimize'),
    threshold: z.number().optional(),
  })
  .strict();

const positiveInt = z.number().int().positive();

export const experimentSchema = z
  .object({
    /** Any text (SigOpt's names have spaces): folders and study names use its slug (src/experiment/habits.ts). */
    name: z.string().trim().min(1).max(200),
    description: z.string().optional(),
    parameters: z.array(parameterSchema).min(1),
    conditionals: z.array(conditionalSchema).optional(),
    metrics: z.array(metricSchema).min(1),
    /** argv list, or one string run by the shell; optional for a study evaluated in-process (study.optimize) or a command given after `--` */
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
    /** relative to the experiment file's folder (the default) */
    cwd: z.string().optional(),
    /**
     * Added to the trials' environment: a value, stored with the experiment (metadata.json, the study
     * store, S3), or `{from_env: VAR}`, read from the runner's environment when the run starts and
     * never stored (for secrets such as API keys).
     */
    env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.object({ from_env: z.string().min(1) }).strict()])).optional(),
    resource: z.object({ name, max: positiveInt }).strict().optional(),
    method: z.string().optional(),
    method_options: z
      .object({
        grace_period: positiveInt.optional(),
        reduction_factor: z.number().min(2).optional(),
        brackets: positiveInt.optional(),
        num_init_random: positiveInt.optional(),
        grid_points: positiveInt.optional(),
        multivariate: z.boolean().optional(),
        /** MOBSTER: observations a rung level needs before EI is scored at it (default 3, Syne Tune's). */
        min_model_points: positiveInt.optional(),
      })
      .strict()
      .optional(),
    budget: z
      .object({
        max_trials: positiveInt.optional(),
        max_wallclock_time: z.number().positive().optional(),
        max_results: positiveInt.optional(),
      })
      .strict(),
    parallel_bandwidth: positiveInt.default(1),
    /** seconds without a report after which a trial is killed and failed */
    trial_timeout: z.number().positive().optional(),
    /** What one trial needs, for executors that place workers on a cluster (Slurm, Kubernetes); memory in MB. */
    resources: z.object({ cpus: positiveInt.optional(), gpus: z.number().int().min(0).optional(), memory: positiveInt.optional() }).strict().optional(),
    max_failures: z.number().int().min(0).default(3),
    random_seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
    /** Configs tried first, in order (SigOpt's and Syne Tune's points_to_evaluate): the tuned parameters' values. */
    points_to_evaluate: z.array(z.record(z.string(), z.union([z.number(), z.string()]))).optional(),
    /** A trial's value: its last report (what its checkpoint holds; the default) or its best at any resource. */
    best: z.enum(['last', 'any']).default('last'),
    /** Settings of a shared study (`tunelab study create -f`); ignored by `tunelab run` without --storage. */
    study: z
      .object({
        /** Random suggestions before the model takes over (CANDLE's INIT_SIZE; default: method_options.num_init_random, else max(5, parallel_bandwidth)). */
        initial_random: positiveInt.optional(),
        /** Ready suggestions kept above the open ones, so that no worker waits for a model fit (CANDLE's NUM_BUFFER). */
        buffer: z.number().int().min(0).default(2),
        /**
         * Observations arriving within batch_window seconds of each other are batched this many per
         * refit (CANDLE's MAX_THRESHOLD); above `buffer`, the buffer runs dry while a batch gathers.
         */
        max_threshold: positiveInt.default(2),
        batch_window: z.number().positive().default(15),
        /** Seconds a worker holds its suggestion without renewing it; then the suggestion is recovered. */
        lease_seconds: z.number().positive().default(60),
        /** What happens to an expired lease's suggestion: handed out again, or abandoned. */
        recover: z.enum(['reassign', 'abandon']).default('reassign'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ExperimentFileInput = zt.input<typeof experimentSchema>;
export type ExperimentFileData = zt.output<typeof experimentSchema>;
export type ParameterData = zt.output<typeof parameterSchema>;
