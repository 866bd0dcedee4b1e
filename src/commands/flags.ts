import { readFileSync } from 'node:fs';
import { didYouMeanText } from '../util/did-you-mean.js';
import type { Argv } from 'yargs';
import type { HpoMainOptions } from '../launchers/hpo-main.js';
import { UserError } from '../util/errors.js';

/** A numeric flag that rejects non-numbers by name instead of passing NaN on. */
export function numeric(flag: string, opts: { integer?: boolean } = {}) {
  return (raw: unknown) => {
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    const n = typeof v === 'number' ? v : Number(v);
    if (v === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
      throw new UserError(`--${flag} expects ${opts.integer ? 'an integer' : 'a number'}, got '${v}'`);
    }
    return n;
  };
}

/**
 * A numeric flag's yargs options. Left untyped, so that yargs still parses a number but hands a bad
 * value to the check as written (a `number` flag turns 'many' into NaN, and a flag given without a
 * value into its default); a value is required once the flag is given.
 */
export function numberFlag(flag: string, describe: string, opts: { integer?: boolean; default?: number } = {}) {
  // yargs shows a type only for its own types: the help says it in yargs' style instead
  const label = opts.integer ? '[integer]' : '[number]';
  return { requiresArg: true, describe: `${describe} ${label}`, coerce: numeric(flag, opts), ...(opts.default === undefined ? {} : { default: opts.default }) };
}

/** A numeric flag that must be above zero. */
function positive(flag: string) {
  const parse = numeric(flag);
  return (raw: unknown) => {
    const n = parse(raw);
    if (n <= 0) throw new UserError(`--${flag} must be a positive number, got ${n}`);
    return n;
  };
}

/** The flags of `hpo-main` (and of the commands that fan it out). */
/** hpo-main's --backend: where the trials run (launch-remote's --backend says where its jobs run). */
const trialBackendFlag = { type: 'string', default: 'simulator', choices: ['simulator', 'local'], describe: 'trial backend: simulator (replay the benchmark) or local (run its training command)' } as const;

export function experimentFlags<T>(y: Argv<T>, backendFlag: { type: 'string'; default: string; choices: string[] | readonly string[]; describe: string } = trialBackendFlag) {
  return y
    .option('experiment_tag', { type: 'string', demandOption: true, describe: 'name of the study; results go to <root>/<tag>/' })
    .option('method', { type: 'string', array: true, requiresArg: true, describe: 'method(s) to run (default: all registered)' })
    .option('benchmark', { type: 'string', array: true, requiresArg: true, describe: 'benchmark(s) to run (default: the default benchmarks)' })
    .option('num_seeds', numberFlag('num_seeds', 'end of the seed range: seeds start_seed .. num_seeds-1 run', { integer: true, default: 1 }))
    .option('start_seed', numberFlag('start_seed', 'first seed index', { integer: true, default: 0 }))
    .option('random_seed', numberFlag('random_seed', 'master seed of the study (with --resume: that of the runs resumed; else drawn and printed)', { integer: true }))
    .option('backend', backendFlag)
    .option('n_workers', numberFlag('n_workers', "override the benchmark's number of workers", { integer: true }))
    .option('max_wallclock_time', numberFlag('max_wallclock_time', "override the benchmark's time budget (seconds of the backend clock)"))
    .option('max_num_trials_started', numberFlag('max_num_trials_started', 'also end a run once this many trials have started (and then ended), whatever the clock says', { integer: true }))
    .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
    .option('verbose', numberFlag('verbose', '1: print every trial start, decision and end', { integer: true, default: 0 }))
    .option('save_tuner', { type: 'boolean', default: true, describe: 'write tuner.json checkpoints (needed for --resume)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue unfinished runs of the same tag/method/benchmark/seed; skip finished ones' })
    .option('restrict_configurations', { type: 'boolean', default: false, describe: 'only suggest configs that the benchmark table holds' })
    .option('charge_decision_time', { type: 'boolean', default: false, describe: "simulator: add the tuner's own decision time to the simulated clock (as Syne Tune does; results then vary run to run)" })
    .option('s3_bucket', { type: 'string', describe: 'also upload each experiment to this S3 bucket, while it runs and at its end' })
    .option('s3_prefix', { type: 'string', default: 'tunelab', describe: 'S3 key prefix: s3://<bucket>/<prefix>/<tag>/<job>/<folder>/' })
    .option('s3_sync_interval', { requiresArg: true, default: 60, coerce: positive('s3_sync_interval'), describe: 'with --s3_bucket: upload a running experiment every this many seconds of wall time' })
    .option('max_failures', numberFlag('max_failures', 'fail an experiment once more trials than this failed (0: at the first failure)', { integer: true, default: 1 }));
}


export type ExperimentArgv = Awaited<ReturnType<typeof experimentFlags>['argv']>;

/**
 * yargs' failure handler for tunelab's commands: a usage error (unknown flag or command, bad or
 * missing value) is the user's, a UserError in plain words; anything else is a bug and passes on.
 */
export function usageFailure(args: readonly string[]) {
  // yargs passes its usage instance third: its descriptions name every option of the command
  return (msg: string | undefined, err: Error | undefined, usage?: unknown): never => {
    if (err && err.name !== 'YError') throw err;
    const text = err?.message ?? msg ?? '';
    const unknown = /^Unknown arguments?: (.+)$/.exec(text);
    if (unknown) {
      // yargs' strict mode names the unknown flags; say which known one each was likely meant to be
      const descriptions = (usage as { getDescriptions?: () => Record<string, unknown> } | undefined)?.getDescriptions?.() ?? {};
      const known = Object.keys(descriptions).filter((k) => k.length > 1);
      const given = unknown[1].split(', ');
      // yargs lists a dashed flag twice, as given and camel-cased
      const kebab = (f: string) => f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const flags = given.filter((f) => f === kebab(f) || !given.includes(kebab(f))).map((f) => `--${f}${didYouMeanText(f, known, (c) => `--${c}`)}`);
      throw new UserError(`unknown flag${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`);
    }
    if (text.startsWith('Did you mean')) throw new UserError(`unknown command '${args.find((a) => !a.startsWith('-'))}'; ${text.replace('Did', 'did')}`);
    const missing = /^Not enough arguments following: (\S+)$/.exec(text);
    throw new UserError(missing ? `--${missing[1]} needs a value` : text);
  };
}

/**
 * `hpo-main`'s flags parsed from an argument list (e.g. `process.argv.slice(2)`) into `hpoMain`
 * options: for a script that runs `hpoMain` with its own methods or extra results. A bad flag is a
 * UserError; `--help` prints the flags and exits.
 */
export async function parseHpoMainFlags(args: string[], scriptName = 'hpo-main'): Promise<HpoMainOptions> {
  const { yargs } = await import('./yargs.js');
  const argv = await experimentFlags(yargs(args).scriptName(scriptName)).strict().fail(usageFailure(args)).parseAsync();
  return hpoMainOptions(argv as unknown as ExperimentArgv);
}

/** The parsed flags as `hpoMain` options (the job-runner flags of launch-remote are its own). */
export function hpoMainOptions(a: ExperimentArgv): HpoMainOptions {
  return {
    experimentTag: a.experiment_tag,
    method: a.method,
    benchmark: a.benchmark,
    numSeeds: a.num_seeds,
    startSeed: a.start_seed,
    randomSeed: a.random_seed,
    backend: a.backend,
    nWorkers: a.n_workers,
    maxWallclockTime: a.max_wallclock_time,
    maxNumTrialsStarted: a.max_num_trials_started,
    resultsRoot: a.results_root,
    verbose: a.verbose,
    saveTuner: a.save_tuner,
    resume: a.resume,
    restrictConfigurations: a.restrict_configurations,
    chargeDecisionTime: a.charge_decision_time,
    maxFailures: a.max_failures,
    s3Bucket: a.s3_bucket,
    s3Prefix: a.s3_prefix,
    s3SyncInterval: a.s3_sync_interval,
  };
}

/** `--token_file`: the API token is the file's first line that is neither blank nor a # comment (never a flag's value: argv is visible to every user). */
export function tokenFromFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`--token_file ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const token = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  if (!token) throw new UserError(`--token_file ${file}: no token in it`);
  return token;
}

/** `--token_file`, for the commands that reach a study server. */
export const TOKEN_FILE_FLAG = { alias: 'token-file', type: 'string', describe: 'with a study server: a file holding the API token (default: $TUNELAB_TOKEN; never a flag: argv is visible to every user)' } as const;
