#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, type Domain, type Value, hyperparameters } from '../../config-space/index.js';
import { checkpointDir, report } from '../../trial/report.js';
import { UserError } from '../../util/errors.js';
import { mkdirp, writeFileAtomic } from '../../util/fs.js';
import { trainingSeed } from './builder.js';
import { type PreparedDataset, loadDataset } from './datasets.js';
import { fcnetBuildSpace, fcnetEpoch, fcnetOptions, fcnetScoreName, fcnetTrainerNames } from './fcnet-trainer.js';
import { MLP } from './mlp.js';

/**
 * Trains one config of the fcnet build space for real, as a tunelab trial (DESIGN.md §8): the
 * training command of the shipped fcnet benchmarks under `--backend local`.
 *
 *   node dist/src/blackbox/build/fcnet-script.js fcnet-<dataset> --hp_init_lr 0.01 ... [--epochs 27] [--seed_index 0]
 *
 * It trains with the seed the table builder gives (config, seed index), so its curve is the table's
 * bit for bit, and reports `{epoch, valid_loss, valid_r2|valid_accuracy, train_loss, n_params}` per
 * epoch. With $TUNELAB_CHECKPOINT_DIR it continues from the checkpoint there and writes one after
 * every epoch. Exit codes: 2 for bad arguments, 1 for a checkpoint it cannot continue from.
 */

const CHECKPOINT = 'fcnet.ckpt';

interface Arguments {
  trainer: string;
  config: Config;
  epochs: number;
  seedIndex: number;
}

function accepted(d: Domain): string {
  return d.finiteValues ? d.finiteValues.join(', ') : JSON.stringify(d.toJSON());
}

/** The domain's own value for `raw` (numbers as the table holds them, so the seed matches), or undefined. */
function parseValue(d: Domain, raw: string): Value | undefined {
  const values = d.finiteValues;
  if (values && typeof values[0] !== 'number') return d.contains(raw) ? raw : undefined;
  const x = raw.trim() === '' ? NaN : Number(raw);
  if (!d.contains(x)) return undefined;
  return values ? values.reduce((best, v) => (Math.abs((v as number) - x) < Math.abs((best as number) - x) ? v : best)) : x;
}

function intFlag(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) throw new UserError(`--${flag} expects an integer >= ${min}, got '${raw}'`);
  return n;
}

function parseArguments(argv: string[]): Arguments {
  const [trainer, ...rest] = argv;
  if (!fcnetTrainerNames.includes(trainer)) {
    throw new UserError(`the first argument names the data set: one of ${fcnetTrainerNames.join(', ')}; got ${trainer === undefined ? 'none' : `'${trainer}'`}`);
  }
  const raw = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    if (!flag.startsWith('--') || i + 1 >= rest.length) throw new UserError(`expected --name value pairs after ${trainer}, got '${rest.slice(i).join(' ')}'`);
    if (raw.has(flag.slice(2))) throw new UserError(`${flag} is given twice`);
    raw.set(flag.slice(2), rest[i + 1]);
  }
  const epochs = intFlag('epochs', raw.get('epochs'), 27, 1);
  const seedIndex = intFlag('seed_index', raw.get('seed_index'), 0, 0);
  raw.delete('epochs');
  raw.delete('seed_index');

  const space = fcnetBuildSpace();
  const hps = hyperparameters(space);
  const problems: string[] = [];
  const config: Config = {};
  for (const [name, d] of hps) {
    const text = raw.get(name);
    const value = text === undefined ? undefined : parseValue(d, text);
    if (value !== undefined) config[name] = value;
    else problems.push(`${text === undefined ? `missing --${name}` : `--${name} '${text}' is not accepted`} (accepted values: ${accepted(d)})`);
  }
  for (const name of raw.keys()) {
    if (!(name in space)) problems.push(`unknown hyperparameter --${name} (the hyperparameters: ${hps.map(([n]) => n).join(', ')}; options: --epochs, --seed_index)`);
  }
  if (problems.length > 0) throw new UserError(`bad config for ${trainer}:\n  ${problems.join('\n  ')}`);
  return { trainer, config, epochs, seedIndex };
}

/** The network of the trial: from its checkpoint when there is one, else untrained. */
function network(args: Arguments, ds: PreparedDataset, file: string | undefined): MLP {
  const seed = trainingSeed(args.trainer, fcnetBuildSpace(), args.config, args.seedIndex);
  const net = new MLP(fcnetOptions(ds, args.config, seed, args.epochs));
  if (file && existsSync(file)) {
    let state;
    try {
      state = MLP.decodeState(readFileSync(file));
    } catch (e) {
      throw new UserError(`corrupt checkpoint ${file}: ${(e as Error).message}; remove it to train from scratch`, 1);
    }
    try {
      net.setState(state);
    } catch (e) {
      throw new UserError(`the checkpoint ${file} is of another run (${(e as Error).message}); remove it to train from scratch`, 1);
    }
  }
  return net;
}

function main(argv: string[]): void {
  const args = parseArguments(argv);
  const dir = checkpointDir();
  const file = dir ? join(dir, CHECKPOINT) : undefined;
  if (dir) mkdirp(dir);
  const ds = loadDataset(args.trainer.slice('fcnet-'.length));
  const net = network(args, ds, file);
  const names = ['valid_loss', fcnetScoreName(ds), 'train_loss', 'n_params'];
  for (let e = net.epochsTrained; e < args.epochs; e++) {
    const values = fcnetEpoch(net, ds);
    // report before saving: killed in between, the resumed run repeats this epoch (the tuner drops
    // the repeat); saved first, it could skip an epoch that was never reported
    report({ epoch: e + 1, ...Object.fromEntries(names.map((n, i) => [n, values[i]])) });
    if (file) writeFileAtomic(file, MLP.encodeState(net.state()));
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  console.error(`fcnet-script: ${e.message}`);
  process.exitCode = e.exitCode;
}
