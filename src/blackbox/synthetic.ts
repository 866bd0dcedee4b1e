import {
  type Config,
  type ConfigSpace,
  choice,
  configKey,
  finrange,
  logfinrange,
  lograndint,
  loguniform,
  ordinal,
  randint,
  uniform,
} from '../config-space/index.js';
import { hashSeed, mix32 } from '../util/rng.js';
import type { Blackbox } from './types.js';

/**
 * Closed-form multi-fidelity benchmarks. Each config has a learning curve whose asymptote, speed and
 * per-epoch cost depend on the config, so that curves cross (fast starters are not always the best
 * finishers) and early stopping has real decisions to make. Seed noise is a deterministic function of
 * (config, seed, epoch), so the same query always gives the same answer.
 */

/** Standard normal deviate, a pure function of (base hash, stream, index). */
function hashedNormal(base: number, stream: number, index: number): number {
  const h = mix32(base ^ Math.imul(stream + 1, 0x9e3779b9) ^ Math.imul(index + 1, 0x85ebca77));
  const u = (h + 0.5) / 4294967296;
  const v = mix32(h ^ 0x68e31da4) / 4294967296;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const enum Stream {
  Asymptote,
  Cost,
  EpochLoss,
  EpochTime,
}

interface CurveModel {
  /** Loss-like quantity at epoch t (lower is better), before noise. */
  asymptote: number;
  start: number;
  /** Epochs to get halfway from start to asymptote. */
  halfLife: number;
  /** Seconds per epoch. */
  epochCost: number;
}

interface SyntheticSpec {
  name: string;
  configSpace: ConfigSpace;
  epochs: number;
  model(config: Config): CurveModel;
  /** Map the loss-like curve value to the reported objectives (besides elapsed time). */
  objectives: { names: string[]; fromLoss(loss: number): number[] };
  noise: { asymptote: number; epoch: number; cost: number };
  /** The last epoch reaches the asymptote (progress rescaled by (T + halfLife) / T), so the benchmark's optimum is its function's. */
  exactFinal?: boolean;
}

class SyntheticBlackbox implements Blackbox {
  readonly fidelityName = 'epoch';
  readonly fidelityValues: readonly number[];
  readonly objectiveNames: readonly string[];
  readonly elapsedTimeAttr = 'elapsed_time';
  readonly numSeeds = 1_000_000;
  readonly metadata: Record<string, unknown>;

  constructor(private readonly spec: SyntheticSpec) {
    this.fidelityValues = Array.from({ length: spec.epochs }, (_, i) => i + 1);
    this.objectiveNames = [...spec.objectives.names, this.elapsedTimeAttr];
    this.metadata = { source: 'tunelab closed-form synthetic learning curves', name: spec.name, licence: 'Apache-2.0' };
  }

  get configSpace(): ConfigSpace {
    return this.spec.configSpace;
  }

  curve(config: Config, seed: number): Float64Array {
    const { spec } = this;
    const base = hashSeed(spec.name, configKey(spec.configSpace, config), seed);
    const m = spec.model(config);
    const M = this.objectiveNames.length;
    const out = new Float64Array(spec.epochs * M);
    const asymptote = m.asymptote * (1 + spec.noise.asymptote * hashedNormal(base, Stream.Asymptote, 0));
    const costFactor = Math.exp(spec.noise.cost * hashedNormal(base, Stream.Cost, 0));
    let elapsed = 0;
    for (let f = 0; f < spec.epochs; f++) {
      const t = f + 1;
      const progress = (t / (t + m.halfLife)) * (spec.exactFinal ? (spec.epochs + m.halfLife) / spec.epochs : 1);
      const clean = m.start + (asymptote - m.start) * progress;
      const loss = clean * (1 + spec.noise.epoch * hashedNormal(base, Stream.EpochLoss, t));
      const values = spec.objectives.fromLoss(loss);
      for (let j = 0; j < values.length; j++) out[f * M + j] = values[j];
      elapsed += m.epochCost * costFactor * (1 + 0.02 * hashedNormal(base, Stream.EpochTime, t));
      out[f * M + M - 1] = elapsed;
    }
    return out;
  }
}

const log2 = Math.log2;
const sq = (x: number) => x * x;

/** The fcnet space of the reference study, with a learning-curve model shaped like fcnet's. */
export const fcnetConfigSpace = (): ConfigSpace => ({
  hp_activation_fn_1: choice(['tanh', 'relu']),
  hp_activation_fn_2: choice(['tanh', 'relu']),
  hp_batch_size: logfinrange(8, 64, 4, { castInt: true }),
  hp_dropout_1: finrange(0, 0.6, 3),
  hp_dropout_2: finrange(0, 0.6, 3),
  hp_init_lr: choice([0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]),
  hp_lr_schedule: choice(['cosine', 'const']),
  hp_n_units_1: logfinrange(16, 512, 6, { castInt: true }),
  hp_n_units_2: logfinrange(16, 512, 6, { castInt: true }),
});

function fcnetModel(config: Config): CurveModel {
  const lr = config.hp_init_lr as number;
  const bs = config.hp_batch_size as number;
  const n1 = config.hp_n_units_1 as number;
  const n2 = config.hp_n_units_2 as number;
  const d1 = config.hp_dropout_1 as number;
  const d2 = config.hp_dropout_2 as number;
  const relu1 = config.hp_activation_fn_1 === 'relu';
  const relu2 = config.hp_activation_fn_2 === 'relu';
  const cosine = config.hp_lr_schedule === 'cosine';
  // best learning rate grows with the batch size (linear-scaling rule, in log space)
  const bestLogLr = -2.6 + 0.5 * log2(bs / 8) * Math.log10(2);
  const lrPenalty = 0.06 * sq(Math.log10(lr) - bestLogLr);
  const capacity = (log2(n1) + log2(n2)) / 18; // 0.44 .. 1
  const underfit = 0.05 * sq(Math.max(0, 0.8 - capacity) * 3);
  const regularised = capacity * (1 - 0.6 * (d1 + d2)); // big nets want dropout
  const overfit = 0.03 * sq(Math.max(0, regularised - 0.55) * 3);
  const diverges = relu1 && relu2 && lr >= 0.1 ? 0.25 : 0;
  const asymptote = 0.04 + lrPenalty + underfit + overfit + diverges + (relu1 ? 0 : 0.004) + (cosine ? 0 : 0.006);
  // relu and large learning rates learn fast; dropout slows learning down
  const speed = (relu1 ? 1.6 : 1) * (relu2 ? 1.3 : 1) * Math.min(3, Math.pow(lr / 0.001, 0.35)) * (1 - 0.5 * (d1 + d2) / 1.2);
  const halfLife = Math.max(0.3, 8 / speed);
  // cost per epoch: batches per epoch × cost per batch
  const epochCost = 0.4 + 2.2 * ((n1 * 14 + n1 * n2 + n2) / (512 * 14 + 512 * 512 + 512)) * Math.pow(64 / bs, 0.8) + 0.5 * (8 / bs);
  return { asymptote, start: 1.0, halfLife, epochCost };
}

function mlpConfigSpace(): ConfigSpace {
  return {
    learning_rate: loguniform(1e-5, 1),
    weight_decay: loguniform(1e-8, 1e-1),
    dropout: uniform(0, 0.8),
    num_layers: randint(1, 5),
    max_units: lograndint(16, 1024),
    optimizer: choice(['sgd', 'adam', 'rmsprop']),
    batch_size: ordinal([16, 32, 64, 128, 256]),
  };
}

function mlpModel(config: Config): CurveModel {
  const lr = config.learning_rate as number;
  const wd = config.weight_decay as number;
  const dropout = config.dropout as number;
  const layers = config.num_layers as number;
  const units = config.max_units as number;
  const bs = config.batch_size as number;
  const opt = config.optimizer as string;
  const bestLogLr = opt === 'sgd' ? -1.3 : -3.0;
  const lrPenalty = 0.05 * sq(Math.log10(lr) - bestLogLr);
  const wdPenalty = 0.02 * sq(Math.max(0, Math.log10(wd) + 3.5)) + 0.004 * Math.max(0, -6 - Math.log10(wd));
  const depthTerm = 0.03 * sq(layers - 3) / 4;
  const widthTerm = 0.025 * sq(log2(units) - 8.5) / 9;
  const dropTerm = 0.06 * sq(dropout - 0.25 - 0.05 * layers);
  const asymptote = 0.08 + Math.min(0.6, lrPenalty) + wdPenalty + depthTerm + widthTerm + dropTerm + (opt === 'rmsprop' ? 0.01 : 0);
  const speed = (opt === 'adam' ? 1.5 : 1) * Math.min(2.5, Math.pow(Math.max(lr, 1e-5) / 1e-3, 0.25)) * Math.pow(64 / bs, 0.3);
  const halfLife = Math.max(0.5, 5 / speed);
  const epochCost = 0.5 + 3 * (layers * units) / 5120 * Math.pow(64 / bs, 0.5);
  return { asymptote, start: 0.9, halfLife, epochCost };
}

/** Branin on [-5, 10] × [0, 15]: minimum 0.397887 at (−π, 12.275), (π, 2.275) and (9.42478, 2.475). */
export function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI * Math.PI);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return sq(x2 - b * x1 * x1 + c * x1 - 6) + 10 * (1 - t) * Math.cos(x1) + 10;
}

function braninModel(config: Config): CurveModel {
  const x1 = config.x1 as number;
  const x2 = config.x2 as number;
  const value = branin(x1, x2);
  return {
    asymptote: value,
    // low-fidelity values are biased upwards, more so on the right of the domain
    start: value + 60 + 4 * (x1 + 5),
    halfLife: 1 + 0.3 * Math.abs(x2 - 7.5),
    epochCost: 1 + 0.2 * (x1 + 5),
  };
}

const HARTMANN6_ALPHA = [1.0, 1.2, 3.0, 3.2];
const HARTMANN6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const HARTMANN6_P = [
  [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
  [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
  [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.665],
  [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];

/** Hartmann's 6-D function on [0, 1]^6: minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). */
export function hartmann6(x: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += HARTMANN6_A[i][j] * sq(x[j] - HARTMANN6_P[i][j]);
    total -= HARTMANN6_ALPHA[i] * Math.exp(-inner);
  }
  return total;
}

function hartmann6Model(config: Config): CurveModel {
  const x = [1, 2, 3, 4, 5, 6].map((j) => config[`x${j}`] as number);
  const h = hartmann6(x);
  return {
    asymptote: h,
    // low fidelities biased upwards, less so for large x3 (the optimum's x3 is 0.48): a misleading early ranking
    start: h + 3 - 2 * x[2],
    halfLife: 1 + 4 * Math.abs(x[3] - 0.5),
    epochCost: 1 + x[0] + x[4],
  };
}

const SPECS: Record<string, () => SyntheticSpec> = {
  'synthetic-fcnet': () => ({
    name: 'synthetic-fcnet',
    configSpace: fcnetConfigSpace(),
    epochs: 100,
    model: fcnetModel,
    objectives: { names: ['valid_loss'], fromLoss: (l) => [l] },
    noise: { asymptote: 0.03, epoch: 0.02, cost: 0.05 },
  }),
  'synthetic-mlp': () => ({
    name: 'synthetic-mlp',
    configSpace: mlpConfigSpace(),
    epochs: 52,
    model: mlpModel,
    // reports an accuracy (maximised) and the loss it derives from
    objectives: { names: ['val_accuracy', 'val_loss'], fromLoss: (l) => [100 * Math.exp(-1.5 * l), l] },
    noise: { asymptote: 0.02, epoch: 0.015, cost: 0.05 },
  }),
  'synthetic-branin': () => ({
    name: 'synthetic-branin',
    configSpace: { x1: uniform(-5, 10), x2: uniform(0, 15) },
    epochs: 27,
    model: braninModel,
    objectives: { names: ['value'], fromLoss: (l) => [l] },
    noise: { asymptote: 0, epoch: 0.01, cost: 0.02 },
  }),
  'synthetic-hartmann6': () => ({
    name: 'synthetic-hartmann6',
    configSpace: Object.fromEntries([1, 2, 3, 4, 5, 6].map((j) => [`x${j}`, uniform(0, 1)])),
    epochs: 27,
    model: hartmann6Model,
    objectives: { names: ['value'], fromLoss: (l) => [l] },
    noise: { asymptote: 0, epoch: 0.01, cost: 0.02 },
    exactFinal: true,
  }),
};

export const syntheticBlackboxNames = Object.keys(SPECS);

export function syntheticBlackbox(name: string): Blackbox {
  const spec = SPECS[name];
  if (!spec) throw new Error(`no synthetic blackbox '${name}'; available: ${syntheticBlackboxNames.join(', ')}`);
  return new SyntheticBlackbox(spec());
}
