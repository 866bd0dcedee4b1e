import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { type Config, type ConfigSpace, configKey, isDomain, sampleConfig, spaceSize } from '../../config-space/index.js';
import { UserError } from '../../util/errors.js';
import { mkdirp, mkdirpUser } from '../../util/fs.js';
import { packageRoot, tunelabVersion } from '../../util/package-info.js';
import { createRng, hashSeed } from '../../util/rng.js';
import { writeTable } from '../format.js';
import type { TableData } from '../tabular.js';
import { resolveTrainingFunction } from './training-function.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

export interface BuildOptions {
  /** A training function: `fcnet-<dataset>` or `<module.js>#<export>` (see resolveTrainingFunction). */
  trainer: string;
  /** Output folder of the table (tunelab's blackbox format). */
  out: string;
  /** Configs: a seeded sample of this many distinct configs; undefined = the full grid. */
  numConfigs?: number;
  samplingSeed?: number;
  numSeeds: number;
  epochs: number;
  /** Worker processes; default: the number of cores. */
  workers?: number;
  /** Progress bar on a terminal, else a line per 5 %; false: nothing. */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface BuildResult {
  dir: string;
  table: TableData;
  /** Tasks (config × seed) trained by this call, and found done in the journal of a killed build. */
  trained: number;
  resumed: number;
  /** Wall seconds of this call, and epochs it trained per wall second. */
  seconds: number;
  epochsPerSecond: number;
}

export const ELAPSED_TIME = 'elapsed_time';
/** Work folder inside the output folder while a build runs (removed when it completes). */
export const BUILD_DIR = '.build';
const JOURNAL = 'journal.bin';
const SPEC = 'spec.json';

/** Every combination of the finite domains' values (constants kept); an error names a continuous domain. */
export function gridConfigs(space: ConfigSpace): Config[] {
  let configs: Config[] = [{}];
  for (const [name, d] of Object.entries(space)) {
    const values = isDomain(d) ? d.finiteValues : [d];
    if (!values) throw new UserError(`cannot tabulate the full grid: hyperparameter '${name}' is continuous (${isDomain(d) ? d.kind : d}); give --num_configs N to sample instead`);
    configs = configs.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return configs;
}

/** `n` distinct configs drawn from `space` with a seeded RNG. */
export function sampleDistinctConfigs(space: ConfigSpace, n: number, seed: number): Config[] {
  const size = spaceSize(space);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--num_configs must be a positive integer, got ${n}`);
  if (n > size) throw new UserError(`--num_configs ${n} exceeds the ${size} distinct configs of the space; use --grid for all of them`);
  const rng = createRng(hashSeed('tunelab-build-configs', seed));
  const seen = new Set<string>();
  const out: Config[] = [];
  while (out.length < n) {
    const c = sampleConfig(space, rng);
    const key = configKey(space, c);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(c);
    }
  }
  return out;
}

/** The seed a task trains with: a function of the trainer, the config and the seed index alone. */
export const trainingSeed = (trainer: string, space: ConfigSpace, config: Config, seedIndex: number) => hashSeed('tunelab-build', trainer, configKey(space, config), seedIndex);

/** The worker script: from dist/ also when this module runs from src/ (tests), as Node 20 cannot fork .ts. */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(here, '..', 'worker.js');
  const built = join(packageRoot, 'dist', 'src', 'blackbox', 'build', 'worker.js');
  if (!existsSync(built)) throw new Error(`the build workers run compiled code: ${built} is missing (run npm run build)`);
  return built;
}

interface BuildSpec {
  trainer: string;
  num_configs: number | 'grid';
  sampling_seed: number;
  num_seeds: number;
  epochs: number;
  objective_names: string[];
  /** Changes when the config list changes (e.g. a different space), so a stale journal is never reused. */
  configs_hash: number;
}

/**
 * Tabulates a training function: trains every (config, seed) for `epochs` epochs in worker processes
 * and writes the table. Each finished curve is appended to a journal in `<out>/.build/`, so a build
 * that is killed continues where it stopped when run again with the same arguments.
 */
export async function buildBlackbox(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const fn = await resolveTrainingFunction(opts.trainer);
  const space = fn.configSpace;
  if (!Number.isInteger(opts.numSeeds) || opts.numSeeds < 1) throw new UserError(`--num_seeds must be a positive integer, got ${opts.numSeeds}`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new UserError(`--epochs must be a positive integer, got ${opts.epochs}`);
  const nWorkers = opts.workers ?? availableParallelism();
  if (!Number.isInteger(nWorkers) || nWorkers < 1) throw new UserError(`--workers must be a positive integer, got ${opts.workers}`);
  const samplingSeed = opts.samplingSeed ?? 0;
  const configs = opts.numConfigs === undefined ? gridConfigs(space) : sampleDistinctConfigs(space, opts.numConfigs, samplingSeed);
  const S = opts.numSeeds;
  const F = opts.epochs;
  const objectiveNames = [...fn.objectiveNames, ELAPSED_TIME];
  const M = objectiveNames.length;
  const record = F * M;
  const total = configs.length * S;

  if (existsSync(join(opts.out, 'meta.json')) && !existsSync(join(opts.out, BUILD_DIR))) {
    throw new UserError(`${opts.out} already holds a table; remove it or give another --out`);
  }
  mkdirpUser(opts.out, 'the output folder (--out)');
  const work = join(opts.out, BUILD_DIR);
  mkdirp(work);
  const spec: BuildSpec = {
    trainer: opts.trainer,
    num_configs: opts.numConfigs ?? 'grid',
    sampling_seed: samplingSeed,
    num_seeds: S,
    epochs: F,
    objective_names: objectiveNames,
    configs_hash: hashSeed(...configs.map((c) => configKey(space, c))),
  };
  const specPath = join(work, SPEC);
  if (existsSync(specPath)) {
    const old = JSON.parse(readFileSync(specPath, 'utf8')) as BuildSpec;
    const diff = (Object.keys(spec) as (keyof BuildSpec)[]).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(spec[k]));
    if (diff.length > 0) {
      throw new UserError(
        `${work} holds an unfinished build with other settings (${diff.map((k) => `${k}: ${JSON.stringify(old[k])} there, ${JSON.stringify(spec[k])} now`).join('; ')}); rerun with its settings to continue it, or remove ${work} to start over`,
      );
    }
  } else writeFileSync(specPath, JSON.stringify(spec, null, 1));

  // the journal: records of [task id (int32), F×M float32], appended as tasks finish
  const objectives = new Float32Array(total * record);
  const done = new Uint8Array(total);
  const journalPath = join(work, JOURNAL);
  const recordBytes = 4 + 4 * record;
  let resumed = 0;
  if (existsSync(journalPath)) {
    const buf = readFileSync(journalPath);
    const whole = Math.floor(buf.byteLength / recordBytes);
    for (let i = 0; i < whole; i++) {
      const o = i * recordBytes;
      const id = buf.readInt32LE(o);
      if (id < 0 || id >= total) throw new UserError(`${journalPath}: record ${i} names task ${id} of ${total}; remove ${work} to start over`);
      const values = new Float32Array(buf.buffer.slice(buf.byteOffset + o + 4, buf.byteOffset + o + recordBytes));
      objectives.set(values, id * record);
      if (!done[id]) resumed++;
      done[id] = 1;
    }
    if (whole > 0) log(`resuming ${opts.out}: ${resumed} of ${total} tasks already trained`);
  }
  const fd = openSync(journalPath, 'a+');
  // a record cut short by a kill is dropped (its task is trained again)
  ftruncateSync(fd, Math.floor(statSync(journalPath).size / recordBytes) * recordBytes);

  const pending: number[] = [];
  const orderRng = createRng(hashSeed('tunelab-build-order', samplingSeed));
  const order = Array.from({ length: total }, (_, i) => i);
  // random order: model sizes mix, so the ETA is right early and the workers finish together
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(orderRng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const id of order) if (!done[id]) pending.push(id);

  const started = performance.now();
  let trained = 0;
  const progress = makeProgress(opts.progress ?? true, total, resumed, opts.out, log);
  try {
    if (pending.length > 0) {
      await runWorkers(Math.min(nWorkers, pending.length), opts.trainer, F, objectiveNames, pending, (id) => {
        const config = configs[Math.floor(id / S)];
        return { config, seed: trainingSeed(opts.trainer, space, config, id % S) };
      }, (id, values) => {
        if (values.length !== record) throw new Error(`worker sent ${values.length} values for task ${id}, expected ${record}`);
        const rec = Buffer.alloc(recordBytes);
        rec.writeInt32LE(id, 0);
        Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(rec, 4);
        writeSync(fd, rec);
        objectives.set(values, id * record);
        done[id] = 1;
        trained++;
        progress.update(resumed + trained);
      });
    }
  } finally {
    progress.stop();
    closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuTotal(objectives, total, F, M);
  const table: TableData = {
    configSpace: space,
    configurations: configs,
    fidelityName: 'epoch',
    fidelityValues: Array.from({ length: F }, (_, i) => i + 1),
    objectiveNames,
    elapsedTimeAttr: ELAPSED_TIME,
    numSeeds: S,
    objectives,
    metadata: {
      ...fn.metadata,
      trainer: opts.trainer,
      built_with: `tunelab ${tunelabVersion}`,
      built_at: new Date().toISOString(),
      configs: opts.numConfigs === undefined ? 'full grid' : `${configs.length} distinct configs sampled with seed ${samplingSeed}`,
      seeds: S,
      epochs: F,
      elapsed_time: 'cumulative CPU seconds of the training process after each epoch (training and validation; unaffected by other load on the machine)',
      total_training_cpu_seconds: Number(cpu.toFixed(1)),
    },
  };
  writeTable(opts.out, table);
  rmSync(work, { recursive: true, force: true });
  const epochsPerSecond = seconds > 0 ? (trained * F) / seconds : 0;
  log(`wrote ${opts.out}: ${configs.length} configs × ${S} seeds × ${F} epochs; trained ${trained} tasks in ${seconds.toFixed(1)} s (${epochsPerSecond.toFixed(1)} epochs/s)`);
  return { dir: opts.out, table, trained, resumed, seconds, epochsPerSecond };
}

function cpuTotal(objectives: Float32Array, tasks: number, F: number, M: number): number {
  let s = 0;
  for (let t = 0; t < tasks; t++) s += objectives[t * F * M + (F - 1) * M + (M - 1)];
  return s;
}

/** Feeds tasks to `n` forked workers, one task in flight per worker, until all are done. */
function runWorkers(
  n: number,
  trainer: string,
  epochs: number,
  objectiveNames: string[],
  pending: number[],
  task: (id: number) => { config: Config; seed: number },
  onResult: (id: number, values: Float32Array) => void,
): Promise<void> {
  const script = workerScript();
  let next = 0;
  let finished = 0;
  const children: ChildProcess[] = [];
  const retired = new Set<ChildProcess>();
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const c of children) c.kill();
      reject(e);
    };
    const dispatch = (child: ChildProcess) => {
      if (next >= pending.length) {
        // nothing left to hand out: the worker exits on the disconnect
        retired.add(child);
        child.disconnect();
        return;
      }
      const id = pending[next++];
      child.send({ type: 'task', id, ...task(id) } satisfies WorkerRequest);
    };
    for (let w = 0; w < n; w++) {
      // advanced serialisation: curves cross the IPC channel as typed arrays, not JSON
      const child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      child.on('message', (msg: WorkerReply) => {
        if (failed) return;
        try {
          if (msg.type === 'ready') {
            if (JSON.stringify([...msg.objectiveNames, ELAPSED_TIME]) !== JSON.stringify(objectiveNames)) {
              throw new Error(`worker's training function reports ${msg.objectiveNames.join(', ')}, the builder's ${objectiveNames.join(', ')}`);
            }
            dispatch(child);
          } else if (msg.type === 'result') {
            onResult(msg.id, msg.values);
            finished++;
            dispatch(child);
            if (finished === pending.length) resolve();
          } else {
            const what = msg.id === undefined ? 'starting' : `task ${msg.id}`;
            throw new Error(`build worker failed on ${what}: ${msg.message}`);
          }
        } catch (e) {
          fail(e as Error);
        }
      });
      child.on('exit', (code, signal) => {
        if (!retired.has(child)) fail(new Error(`build worker ${child.pid} exited (${signal ?? `code ${code}`}) before the build finished`));
      });
      child.on('error', fail);
      child.send({ type: 'init', trainer, epochs } satisfies WorkerRequest);
    }
  });
}

interface Progress {
  update(value: number): void;
  stop(): void;
}

function makeProgress(enabled: boolean, total: number, start: number, label: string, log: (line: string) => void): Progress {
  if (!enabled) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} config×seed | {duration_formatted} elapsed | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start);
    return { update: (v) => bar.update(v), stop: () => bar.stop() };
  }
  // not a terminal (a log file, CI): a line per 5 %, with the ETA from this run's rate
  const t0 = performance.now();
  let lastStep = Math.floor((start / total) * 20);
  return {
    update(v) {
      const step = Math.floor((v / total) * 20);
      if (step === lastStep) return;
      lastStep = step;
      const s = (performance.now() - t0) / 1000;
      const rate = (v - start) / s;
      const eta = rate > 0 ? (total - v) / rate : Infinity;
      log(`${label}: ${v}/${total} config×seed (${Math.round((100 * v) / total)} %), ${s.toFixed(0)} s elapsed, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}`);
    },
    stop() {},
  };
}
