#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchmarkDefinitions, getBenchmark } from './launchers/benchmarks/index.js';
import { hpoMain } from './launchers/hpo-main.js';
import { methodDefinitions } from './launchers/methods.js';
import { formatTable } from './launchers/reporting.js';
import { UserError } from './util/errors.js';

/** A numeric flag that rejects non-numbers by name instead of passing NaN on. */
function numeric(flag: string, opts: { integer?: boolean } = {}) {
  return (raw: unknown) => {
    const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    const n = typeof v === 'number' ? v : Number(v);
    if (v === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
      throw new UserError(`--${flag} expects ${opts.integer ? 'an integer' : 'a number'}, got '${v}'`);
    }
    return n;
  };
}

function experimentFlags<T>(y: Argv<T>) {
  return y
    .option('experiment_tag', { type: 'string', demandOption: true, describe: 'name of the study; results go to <root>/<tag>/' })
    .option('method', { type: 'string', array: true, describe: 'method(s) to run (default: all registered)' })
    .option('benchmark', { type: 'string', array: true, describe: 'benchmark(s) to run (default: the default benchmarks)' })
    .option('num_seeds', { type: 'number', default: 1, coerce: numeric('num_seeds', { integer: true }), describe: 'end of the seed range: seeds start_seed .. num_seeds-1 run' })
    .option('start_seed', { type: 'number', default: 0, coerce: numeric('start_seed', { integer: true }), describe: 'first seed index' })
    .option('random_seed', { type: 'number', coerce: numeric('random_seed', { integer: true }), describe: 'master seed of the study (drawn and printed when absent)' })
    .option('backend', { type: 'string', default: 'simulator', choices: ['simulator'], describe: 'trial backend' })
    .option('n_workers', { type: 'number', coerce: numeric('n_workers', { integer: true }), describe: "override the benchmark's number of workers" })
    .option('max_wallclock_time', { type: 'number', coerce: numeric('max_wallclock_time'), describe: "override the benchmark's time budget (seconds of the backend clock)" })
    .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
    .option('verbose', { type: 'number', default: 0, coerce: numeric('verbose', { integer: true }), describe: '1: print every trial start, decision and end' })
    .option('save_tuner', { type: 'boolean', default: true, describe: 'write tuner.json checkpoints (needed for --resume)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue unfinished runs of the same tag/method/benchmark/seed; skip finished ones' })
    .option('restrict_configurations', { type: 'boolean', default: false, describe: 'only suggest configs that the benchmark table holds' })
    .option('max_failures', { type: 'number', default: 1, coerce: numeric('max_failures', { integer: true }), describe: 'fail an experiment once more trials failed' });
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName('tunelab')
    .strict()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .command(
      'hpo-main',
      'run experiments: method × benchmark × seed, on the simulator',
      (y) => experimentFlags(y),
      async (a) => {
        const report = await hpoMain({
          experimentTag: a.experiment_tag,
          method: a.method,
          benchmark: a.benchmark,
          numSeeds: a.num_seeds,
          startSeed: a.start_seed,
          randomSeed: a.random_seed,
          backend: a.backend,
          nWorkers: a.n_workers,
          maxWallclockTime: a.max_wallclock_time,
          resultsRoot: a.results_root,
          verbose: a.verbose,
          saveTuner: a.save_tuner,
          resume: a.resume,
          restrictConfigurations: a.restrict_configurations,
          maxFailures: a.max_failures,
        });
        if (report.outcomes.some((o) => o.metadata.status !== 'completed')) exitCode = 1;
      },
    )
    .command('methods', 'list the registered methods', {}, () => {
      console.log(
        formatTable(
          ['method', 'cost', 'description'],
          Object.values(methodDefinitions).map((m) => [m.name, m.expensive ? 'expensive' : 'cheap', m.description]),
        ),
      );
    })
    .command(
      'benchmarks',
      'list the registered benchmarks',
      (y) => y.option('info', { type: 'string', describe: 'show the source, licence and citation of one benchmark' }),
      (a) => {
        if (a.info !== undefined) {
          const b = getBenchmark(a.info);
          console.log(JSON.stringify(b, null, 2));
          return;
        }
        console.log(
          formatTable(
            ['benchmark', 'metric', 'mode', 'workers', 'max time (s)', 'description'],
            Object.values(benchmarkDefinitions).map((b) => [b.name, b.metric, b.mode, b.nWorkers, b.maxWallclockTime, b.description]),
          ),
        );
      },
    )
    .demandCommand(1, 'name a command: hpo-main, methods, benchmarks')
    .fail((msg, err) => {
      throw err ?? new UserError(msg);
    })
    .help();
  try {
    await cli.parseAsync();
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`tunelab: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
  return exitCode;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
