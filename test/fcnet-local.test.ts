import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { load as parseYaml } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trainingSeed } from '../src/blackbox/build/builder.js';
import { loadDataset } from '../src/blackbox/build/datasets.js';
import { fcnetBuildSpace, fcnetEpoch, fcnetOptions, fcnetScriptPath } from '../src/blackbox/build/fcnet-trainer.js';
import { MLP } from '../src/blackbox/build/mlp.js';
import { readTable } from '../src/blackbox/format.js';
import { shippedTablesDir } from '../src/blackbox/repository.js';
import { TabularBlackbox } from '../src/blackbox/tabular.js';
import { type Config, configKey } from '../src/config-space/index.js';
import { REPORT_PREFIX } from '../src/trial/protocol.js';
import { benchmarkDefinitions } from '../src/launchers/benchmarks/index.js';
import { readMetadata } from '../src/results/metadata.js';
import { cliPath, readRows, tempDir } from './helpers.js';

type Report = Record<string, number>;
interface Run {
  reports: Report[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

const EPOCHS = 27;
const exampleScript = join(import.meta.dirname, '..', 'dist', 'examples', 'own-model', 'train.js');

// every process of a test runs in its own temporary folder, so the process table tells which are ours
let root: string;
beforeEach(() => {
  root = tempDir('tunelab-fcnet-local-');
});
afterEach(async () => {
  // a paused or stopped trial is sent SIGTERM: give it a moment to go
  const deadline = Date.now() + 10_000;
  while (ourProcesses().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(ourProcesses()).toEqual([]);
});

/** Training scripts whose working folder is under this test's folder. */
function ourProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (/fcnet-script\.js|own-model\/train\.js/.test(cmd) && readlinkSync(`/proc/${pid}/cwd`).startsWith(root)) found.push(`${pid}: ${cmd}`);
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

const args = (config: Config) => Object.entries(config).flatMap(([k, v]) => [`--${k}`, String(v)]);

/** Runs a script to its end (or until `kill` says so, then SIGKILL), collecting its reports. */
function run(argv: string[], env: Record<string, string> = {}, kill?: (r: Report, child: ChildProcess) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const reports: Report[] = [];
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(REPORT_PREFIX)) return;
      const r = JSON.parse(line.slice(REPORT_PREFIX.length)) as Report;
      reports.push(r);
      if (kill?.(r, child)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ reports, code, signal, stderr }));
  });
}

const fcnet = (dataset: string, config: Config, opts: { seedIndex?: number; checkpoint?: string; kill?: (r: Report) => boolean } = {}) =>
  run(
    [fcnetScriptPath, `fcnet-${dataset}`, ...args(config), ...(opts.seedIndex === undefined ? [] : ['--seed_index', String(opts.seedIndex)])],
    opts.checkpoint ? { TUNELAB_CHECKPOINT_DIR: opts.checkpoint } : {},
    opts.kill,
  );

function table(dataset: string) {
  const bb = new TabularBlackbox(readTable(join(shippedTablesDir, 'fcnet', dataset)));
  const { configurations, numSeeds: S, fidelityValues, objectiveNames, objectives } = bb.data;
  const F = fidelityValues.length;
  const M = objectiveNames.length;
  const rowOf = new Map(configurations.map((c, i) => [configKey(bb.configSpace, c), i]));
  return {
    configurations,
    objectiveNames,
    /** Objective m of config i, seed index s, epoch e (1-based). */
    at: (i: number, s: number, e: number, m: number) => objectives[((i * S + s) * F + e - 1) * M + m],
    indexOf: (c: Config) => rowOf.get(configKey(bb.configSpace, c)),
  };
}

const checkpointEpoch = (dir: string) => MLP.decodeState(readFileSync(join(dir, 'fcnet.ckpt'))).epoch;

describe('MLP checkpoints', () => {
  const cars = loadDataset('cars');
  const config: Config = {
    hp_activation_fn_1: 'relu',
    hp_activation_fn_2: 'tanh',
    hp_batch_size: 16,
    hp_dropout_1: 0.3,
    hp_dropout_2: 0.3,
    hp_init_lr: 0.005,
    hp_lr_schedule: 'cosine',
    hp_n_units_1: 64,
    hp_n_units_2: 32,
  };
  const opts = fcnetOptions(cars, config, 12345, EPOCHS);

  it('27 epochs straight equal 10, snapshot, restore into a fresh network, 17 more (===); the bytes are float64 exact', () => {
    const straight = new MLP(opts);
    const expected = Array.from({ length: EPOCHS }, () => fcnetEpoch(straight, cars));
    const first = new MLP(opts);
    const got = Array.from({ length: 10 }, () => fcnetEpoch(first, cars));
    const bytes = MLP.encodeState(first.state());
    // weights, biases and Adam moments of 9·64 + 64·32 + 32·1 weights, 8 bytes each, and the order
    expect(bytes.length).toBeLessThan(4 * 8 * (9 * 64 + 64 + 64 * 32 + 32 + 32 + 1) + 4 * cars.train.n + 2000);
    const second = new MLP(opts);
    second.setState(MLP.decodeState(bytes));
    expect(second.epochsTrained).toBe(10);
    // the snapshot is a copy: the first network training on leaves it alone
    fcnetEpoch(first, cars);
    for (let e = 10; e < EPOCHS; e++) got.push(fcnetEpoch(second, cars));
    expect(got).toEqual(expected);
    for (let e = 0; e < EPOCHS; e++) for (let m = 0; m < 4; m++) expect(got[e][m]).toBe(expected[e][m]);
  });

  it('a corrupt or foreign state is refused with the reason', () => {
    const net = new MLP(opts);
    fcnetEpoch(net, cars);
    const bytes = MLP.encodeState(net.state());
    expect(() => MLP.decodeState(bytes.subarray(0, bytes.length - 3))).toThrow(/not a valid MLP state: \d+ bytes of arrays, the header announces \d+/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100] ^= 1;
    expect(() => MLP.decodeState(flipped)).toThrow(/checksum mismatch/);
    expect(() => MLP.decodeState(Buffer.from('{"epoch": 3}'))).toThrow(/no tunelab MLP header/);
    const other = new MLP({ ...opts, seed: 7 });
    expect(() => other.setState(MLP.decodeState(bytes))).toThrow(/the MLP state is of another network: seed 12345 there, 7 here/);
  });
});

describe('fcnet-script', () => {
  it('(a) reports the table values of every epoch (fround ===) on cars and penguins, seed indices 0 and 1', async () => {
    for (const dataset of ['cars', 'penguins']) {
      const t = table(dataset);
      const pick = (p: (c: Config) => boolean) => t.configurations.findIndex(p);
      const picks = [
        pick((c) => c.hp_lr_schedule === 'const' && c.hp_dropout_1 !== 0),
        pick((c) => c.hp_lr_schedule === 'cosine' && c.hp_activation_fn_1 === 'relu' && c.hp_activation_fn_2 === 'relu'),
        pick((c) => c.hp_activation_fn_1 === 'tanh' && c.hp_activation_fn_2 === 'tanh' && c.hp_dropout_2 !== 0),
      ];
      const jobs = picks.flatMap((i) => [0, 1].map((s) => ({ i, s })));
      // two at a time: this machine has two cores
      for (let j = 0; j < jobs.length; j += 2) {
        const runs = await Promise.all(jobs.slice(j, j + 2).map(({ i, s }) => fcnet(dataset, t.configurations[i], { seedIndex: s })));
        runs.forEach((r, k) => {
          const { i, s } = jobs[j + k];
          expect(r.code, r.stderr).toBe(0);
          expect(r.reports.map((x) => x.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, e) => e + 1));
          for (const rep of r.reports) {
            for (const [m, name] of t.objectiveNames.slice(0, 4).entries()) expect(Math.fround(rep[name]), `${dataset} config ${i} seed ${s} epoch ${rep.epoch} ${name}`).toBe(t.at(i, s, rep.epoch, m));
          }
        });
      }
    }
  });

  it('(b) killed (SIGKILL) and restarted with the same checkpoint folder, continues with the next epoch, values as uninterrupted', async () => {
    const t = table('cars');
    const config = t.configurations.find((c) => c.hp_dropout_1 !== 0 && c.hp_dropout_2 !== 0 && c.hp_lr_schedule === 'cosine')!;
    const straight = await fcnet('cars', config, { seedIndex: 1, checkpoint: join(root, 'straight') });
    expect(straight.code).toBe(0);
    const dir = join(root, 'paused');
    const seen: Report[] = [];
    // killed twice (as soon as epochs 5 and 15 are reported), then run to the end
    for (const killAt of [5, 15, undefined]) {
      const before = seen.length ? checkpointEpoch(dir) : 0;
      const r = await fcnet('cars', config, { seedIndex: 1, checkpoint: dir, kill: killAt ? (x) => x.epoch === killAt : undefined });
      if (killAt) expect(r.signal).toBe('SIGKILL');
      else expect(r.code).toBe(0);
      expect(r.reports[0].epoch).toBe(before + 1);
      // the checkpoint never runs ahead of the reports: a resumed run skips no epoch
      const last = r.reports[r.reports.length - 1].epoch;
      const saved = checkpointEpoch(dir);
      expect(saved).toBeLessThanOrEqual(last);
      expect(saved).toBeGreaterThanOrEqual(last - 1);
      for (const rep of r.reports) expect(rep).toEqual(straight.reports[rep.epoch - 1]);
      // repeats (killed between a report and its checkpoint) are dropped, as the local backend does
      seen.push(...r.reports.filter((rep) => rep.epoch > (seen[seen.length - 1]?.epoch ?? 0)));
    }
    expect(seen).toEqual(straight.reports);
  });

  it('(c) hpo-main --backend local trains fcnet-cars for real: every result is the table value of its config and epoch', async () => {
    expect(benchmarkDefinitions['fcnet-cars'].local?.command).toEqual([process.execPath, fcnetScriptPath, 'fcnet-cars']);
    const flags = ['--experiment_tag', 't', '--backend', 'local', '--benchmark', 'fcnet-cars', '--restrict_configurations', '--max_wallclock_time', '3600', '--max_num_trials_started', '8', '--n_workers', '2', '--random_seed', '1', '--results_root', root];
    const t = table('cars');
    for (const method of ['ASHA', 'ASHA-PROMOTION']) {
      const r = await run([cliPath, 'hpo-main', '--method', method, ...flags]);
      expect(r.code, r.stderr).toBe(0);
      const folder = join(root, 't', readdirSync(join(root, 't')).find((f) => readMetadata(join(root, 't', f)).method === method)!);
      expect(readMetadata(folder)).toMatchObject({ status: 'completed', backend: 'local' });
      const rows = readRows(join(folder, 'results.csv.gz'));
      const byTrial = new Map<number, typeof rows>();
      for (const row of rows) {
        const config = Object.fromEntries(Object.keys(fcnetBuildSpace()).map((n) => [n, row[`config_${n}`]])) as Config;
        const i = t.indexOf(config);
        expect(i, JSON.stringify(config)).toBeDefined();
        expect(Math.fround(row.valid_loss as number)).toBe(t.at(i!, 0, row.epoch as number, 0));
        byTrial.set(row.trial_id as number, [...(byTrial.get(row.trial_id as number) ?? []), row]);
      }
      // a trial budget, not a time budget: the count is the same on a fast and on a loaded machine
      expect(readMetadata(folder).max_num_trials_started).toBe(8);
      expect([...byTrial.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      let resumed = 0;
      for (const trial of byTrial.values()) {
        expect(trial[0].epoch).toBe(1);
        for (let k = 1; k < trial.length; k++) {
          const [before, after] = [trial[k - 1].epoch as number, trial[k].epoch as number];
          // epochs follow one another, except across a pause: the script trains on until the kill
          // reaches it, and the reports it prints meanwhile come too late (so its checkpoint is ahead)
          if (trial[k - 1].st_decision === 'pause') {
            resumed++;
            expect(after).toBeGreaterThan(before);
          } else expect(after).toBe(before + 1);
        }
      }
      // promotion pauses trials at the rungs and resumes the best: restarted scripts continued the curve
      if (method === 'ASHA-PROMOTION') expect(resumed).toBeGreaterThan(0);
    }
  });

  it('(d) bad or missing hyperparameters, bad options and an unknown data set exit 2 naming them; a bad checkpoint exits 1', async () => {
    const good: Config = { ...table('cars').configurations[0] };
    const bad = await fcnet('cars', { ...good, hp_batch_size: 12, hp_activation_fn_1: 'sigmoid', hp_init_lr: 'fast', hp_n_units_2: 512 });
    expect(bad.code).toBe(2);
    expect(bad.reports).toEqual([]);
    expect(bad.stderr).toContain("--hp_batch_size '12' is not accepted (accepted values: 8, 16, 32, 64)");
    expect(bad.stderr).toContain("--hp_activation_fn_1 'sigmoid' is not accepted (accepted values: tanh, relu)");
    expect(bad.stderr).toContain("--hp_init_lr 'fast' is not accepted (accepted values: 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1)");
    expect(bad.stderr).toContain("--hp_n_units_2 '512' is not accepted (accepted values: 16, 32, 64, 128, 256)");
    const missing = { ...good };
    delete missing.hp_dropout_2;
    const m = await fcnet('penguins', { ...missing, hp_momentum: 0.9 });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('missing --hp_dropout_2 (accepted values: 0, 0.3, 0.6)');
    expect(m.stderr).toMatch(/unknown hyperparameter --hp_momentum \(the hyperparameters: hp_activation_fn_1, .*; options: --epochs, --seed_index\)/);
    const epochs = await run([fcnetScriptPath, 'fcnet-cars', ...args(good), '--epochs', '0']);
    expect(epochs.code).toBe(2);
    expect(epochs.stderr).toContain("--epochs expects an integer >= 1, got '0'");
    const ds = await run([fcnetScriptPath, 'fcnet-mnist', ...args(good)]);
    expect(ds.code).toBe(2);
    expect(ds.stderr).toContain("one of fcnet-cars, fcnet-penguins, fcnet-weather, fcnet-iris; got 'fcnet-mnist'");

    const dir = join(root, 'ckpt');
    expect((await fcnet('cars', good, { checkpoint: dir, kill: (r) => r.epoch === 2 })).signal).toBe('SIGKILL');
    // a checkpoint of another seed index is not this run's
    const foreign = await fcnet('cars', good, { seedIndex: 2, checkpoint: dir });
    expect(foreign.code).toBe(1);
    expect(foreign.reports).toEqual([]);
    expect(foreign.stderr).toMatch(/the checkpoint .*fcnet\.ckpt is of another run \(.*seed \d+ there, \d+ here\); remove it to train from scratch/);
    const file = join(dir, 'fcnet.ckpt');
    writeFileSync(file, readFileSync(file).subarray(0, 1000));
    const corrupt = await fcnet('cars', good, { checkpoint: dir });
    expect(corrupt.code).toBe(1);
    expect(corrupt.reports).toEqual([]);
    expect(corrupt.stderr).toMatch(/corrupt checkpoint .*fcnet\.ckpt: not a valid MLP state: .*; remove it to train from scratch/);
  });
});

describe('examples/own-model', () => {
  it('experiment.yml runs the built train.js with parameters it reads; paused and resumed, it continues its curve', async () => {
    const dir = join(import.meta.dirname, '..', 'examples', 'own-model');
    const spec = parseYaml(readFileSync(join(dir, 'experiment.yml'), 'utf8'));
    expect(join(dir, spec.command[1])).toBe(exampleScript);
    const config = { lr: 0.005, batch_size: 16, units: 32, dropout: 0.2, activation: 'tanh' };
    expect(spec.parameters.map((p: { name: string }) => p.name).sort()).toEqual(Object.keys(config).sort());
    const env = (name: string) => ({ TUNELAB_CONFIG: JSON.stringify(config), TUNELAB_CHECKPOINT_DIR: join(root, name), TUNELAB_TRIAL_ID: '0' });
    const straight = await run([exampleScript], env('straight'));
    expect(straight.code, straight.stderr).toBe(0);
    expect(straight.reports.map((r) => r.epoch)).toEqual(Array.from({ length: spec.resource.max }, (_, e) => e + 1));
    expect(Object.keys(straight.reports[0]).sort()).toEqual(['epoch', 'n_params', 'valid_accuracy', 'valid_loss']);
    expect(straight.reports[spec.resource.max - 1].valid_accuracy).toBeGreaterThan(0.6);
    const killed = await run([exampleScript], env('paused'), (r) => r.epoch === 8);
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await run([exampleScript], env('paused'));
    expect(resumed.code, resumed.stderr).toBe(0);
    // it continues after its checkpoint, which is of the last or the last but one epoch reported
    expect(resumed.reports[0].epoch).toBeGreaterThanOrEqual(killed.reports[killed.reports.length - 1].epoch);
    expect(resumed.reports[0].epoch).toBeLessThanOrEqual(killed.reports[killed.reports.length - 1].epoch + 1);
    for (const r of [...killed.reports, ...resumed.reports]) expect(r).toEqual(straight.reports[r.epoch - 1]);
  });
});
