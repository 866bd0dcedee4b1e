import { createHash } from 'node:crypto';
import { type Rng, type RngState, createRng, randomNormal } from '../../util/rng.js';

/**
 * A fully connected network with two hidden layers, trained with mini-batch Adam, inverted dropout
 * and a constant or cosine learning-rate schedule: the model of the fcnet benchmarks, in plain
 * TypeScript. Everything is preallocated per network (weights, Adam moments, batch activations,
 * gradients), so an epoch allocates nothing; the matrix loops run row-major with the innermost index
 * contiguous, and rows that are zero (ReLU or dropout) are skipped in the gradient products.
 */

export type Activation = 'tanh' | 'relu';
export type Task = 'classification' | 'regression';

export interface MLPOptions {
  inputs: number;
  /** Classes (softmax cross-entropy), or 1 for regression (squared error). */
  outputs: number;
  task: Task;
  units: [number, number];
  activations: [Activation, Activation];
  dropout: [number, number];
  batchSize: number;
  learningRate: number;
  schedule: 'cosine' | 'const';
  /** Length of the cosine schedule in epochs (it decays to 0 at the end of epoch `epochs`). */
  epochs: number;
  seed: number | string;
}

export interface TrainSet {
  /** Row-major [n × inputs] features. */
  x: Float64Array;
  /** Class index (classification) or target value (regression), per row. */
  y: Float64Array;
  n: number;
}

/**
 * Everything a training run carries from one epoch to the next: restored into a network with the same
 * options, the run continues bit for bit as if never interrupted.
 */
export interface MLPState {
  /** The options the run was started with (a state only fits a network built with them). */
  opts: MLPOptions;
  epoch: number;
  /** Adam steps taken (its bias corrections depend on it). */
  t: number;
  rng: RngState;
  /** The shuffle order: each epoch permutes the previous epoch's order, not 0..n-1. */
  order: Int32Array;
  /** Per layer: weights, biases, and Adam's first and second moments of each. */
  tensors: Float64Array[];
}

export interface Evaluation {
  loss: number;
  /** Accuracy (classification) or R² (regression). */
  score: number;
}

/** Losses past this are reported as this: a diverged run must not put Inf/NaN into a table. */
export const LOSS_CAP = 1e4;

const STATE_MAGIC = Buffer.from('tunelab-mlp-state-1\n');

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/** One dense layer's parameters with their Adam state. */
class Dense {
  readonly w: Float64Array;
  readonly b: Float64Array;
  readonly gw: Float64Array;
  readonly gb: Float64Array;
  private readonly mw: Float64Array;
  private readonly vw: Float64Array;
  private readonly mb: Float64Array;
  private readonly vb: Float64Array;
  /** Scratch: indices of the non-zero inputs of one row. */
  private readonly nz: Int32Array;

  constructor(
    readonly nIn: number,
    readonly nOut: number,
    rng: Rng,
    gain: number,
  ) {
    this.w = new Float64Array(nIn * nOut);
    this.b = new Float64Array(nOut);
    this.gw = new Float64Array(nIn * nOut);
    this.gb = new Float64Array(nOut);
    this.mw = new Float64Array(nIn * nOut);
    this.vw = new Float64Array(nIn * nOut);
    this.mb = new Float64Array(nOut);
    this.vb = new Float64Array(nOut);
    this.nz = new Int32Array(nIn);
    // Glorot/He scaling: keeps activations' variance steady through the layer
    const std = gain * Math.sqrt(2 / (nIn + nOut));
    for (let i = 0; i < this.w.length; i++) this.w[i] = std * randomNormal(rng);
  }

  /** out[B × nOut] = in[B × nIn] · W + b */
  forward(input: Float64Array, out: Float64Array, rows: number): void {
    const { nIn, nOut, w, b, nz } = this;
    for (let r = 0; r < rows; r++) {
      const o = r * nOut;
      for (let j = 0; j < nOut; j++) out[o + j] = b[j];
      const m = nonzeros(input, r * nIn, nIn, nz);
      // four input units at a time: one pass over out per four rows of W (loads are the bottleneck)
      let t = 0;
      for (; t + 3 < m; t += 4) {
        const k0 = nz[t];
        const k1 = nz[t + 1];
        const k2 = nz[t + 2];
        const k3 = nz[t + 3];
        const a0 = input[r * nIn + k0];
        const a1 = input[r * nIn + k1];
        const a2 = input[r * nIn + k2];
        const a3 = input[r * nIn + k3];
        const w0 = k0 * nOut;
        const w1 = k1 * nOut;
        const w2 = k2 * nOut;
        const w3 = k3 * nOut;
        for (let j = 0; j < nOut; j++) out[o + j] += a0 * w[w0 + j] + a1 * w[w1 + j] + a2 * w[w2 + j] + a3 * w[w3 + j];
      }
      for (; t < m; t++) {
        const k = nz[t];
        const a = input[r * nIn + k];
        const wk = k * nOut;
        for (let j = 0; j < nOut; j++) out[o + j] += a * w[wk + j];
      }
    }
  }

  /**
   * Gradients from dOut[B × nOut]: gW = inᵀ·dOut, gb = Σ dOut, and (when dIn is given)
   * dIn[B × nIn] = dOut · Wᵀ.
   */
  backward(input: Float64Array, dOut: Float64Array, dIn: Float64Array | undefined, rows: number): void {
    const { nIn, nOut, w, gw, gb } = this;
    gw.fill(0);
    gb.fill(0);
    for (let r = 0; r < rows; r++) {
      const o = r * nOut;
      for (let j = 0; j < nOut; j++) gb[j] += dOut[o + j];
    }
    // four batch rows at a time: each row of gW and of W is loaded once per four rows
    let r = 0;
    for (; r + 3 < rows; r += 4) {
      const o0 = r * nOut;
      const o1 = o0 + nOut;
      const o2 = o1 + nOut;
      const o3 = o2 + nOut;
      const i0 = r * nIn;
      for (let k = 0; k < nIn; k++) {
        const a0 = input[i0 + k];
        const a1 = input[i0 + nIn + k];
        const a2 = input[i0 + 2 * nIn + k];
        const a3 = input[i0 + 3 * nIn + k];
        const wk = k * nOut;
        // inputs that were inactive (ReLU, dropout) in all four rows contribute no gradient
        if (a0 !== 0 || a1 !== 0 || a2 !== 0 || a3 !== 0) {
          for (let j = 0; j < nOut; j++) gw[wk + j] += a0 * dOut[o0 + j] + a1 * dOut[o1 + j] + a2 * dOut[o2 + j] + a3 * dOut[o3 + j];
        }
        if (dIn) {
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let j = 0; j < nOut; j++) {
            const wj = w[wk + j];
            s0 += dOut[o0 + j] * wj;
            s1 += dOut[o1 + j] * wj;
            s2 += dOut[o2 + j] * wj;
            s3 += dOut[o3 + j] * wj;
          }
          dIn[i0 + k] = s0;
          dIn[i0 + nIn + k] = s1;
          dIn[i0 + 2 * nIn + k] = s2;
          dIn[i0 + 3 * nIn + k] = s3;
        }
      }
    }
    for (; r < rows; r++) {
      const o = r * nOut;
      const io = r * nIn;
      for (let k = 0; k < nIn; k++) {
        const a = input[io + k];
        const wk = k * nOut;
        if (a !== 0) for (let j = 0; j < nOut; j++) gw[wk + j] += a * dOut[o + j];
        if (dIn) {
          let s = 0;
          for (let j = 0; j < nOut; j++) s += dOut[o + j] * w[wk + j];
          dIn[io + k] = s;
        }
      }
    }
  }

  /** The live arrays a checkpoint holds, in a fixed order. */
  tensors(): Float64Array[] {
    return [this.w, this.b, this.mw, this.vw, this.mb, this.vb];
  }

  /** One Adam step; `c1`, `c2` are the bias corrections 1-β₁ᵗ and 1-β₂ᵗ. */
  adam(lr: number, c1: number, c2: number): void {
    step(this.w, this.gw, this.mw, this.vw, lr, c1, c2);
    step(this.b, this.gb, this.mb, this.vb, lr, c1, c2);
  }
}

/** Writes the indices of the non-zero entries of x[offset, offset+len) into idx; returns their count. */
function nonzeros(x: Float64Array, offset: number, len: number, idx: Int32Array): number {
  let m = 0;
  for (let k = 0; k < len; k++) if (x[offset + k] !== 0) idx[m++] = k;
  return m;
}

function step(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, lr: number, c1: number, c2: number): void {
  const a = lr / c1;
  const s2 = 1 / c2;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = BETA1 * m[i] + (1 - BETA1) * gi;
    const vi = BETA2 * v[i] + (1 - BETA2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= (a * mi) / (Math.sqrt(vi * s2) + EPS);
  }
}

/** Applies the activation in place and keeps what its derivative needs in `deriv`. */
function activate(kind: Activation, z: Float64Array, deriv: Float64Array, len: number): void {
  if (kind === 'relu') {
    for (let i = 0; i < len; i++) {
      if (z[i] > 0) deriv[i] = 1;
      else {
        z[i] = 0;
        deriv[i] = 0;
      }
    }
  } else {
    for (let i = 0; i < len; i++) {
      const t = Math.tanh(z[i]);
      z[i] = t;
      deriv[i] = 1 - t * t;
    }
  }
}

export class MLP {
  private readonly layers: [Dense, Dense, Dense];
  private readonly rng: Rng;
  private readonly maxRows: number;
  // batch buffers: activations (post-dropout), activation derivatives × dropout scale, deltas
  private readonly xb: Float64Array;
  private readonly h1: Float64Array;
  private readonly h2: Float64Array;
  private readonly d1: Float64Array;
  private readonly d2: Float64Array;
  private readonly out: Float64Array;
  private readonly dOut: Float64Array;
  private readonly dh1: Float64Array;
  private readonly dh2: Float64Array;
  private order: Int32Array = new Int32Array(0);
  private t = 0;
  private epoch = 0;

  constructor(readonly opts: MLPOptions) {
    const { inputs, outputs, units, batchSize, activations } = opts;
    if (!(batchSize >= 1)) throw new Error(`batch size must be >= 1, got ${batchSize}`);
    for (const p of opts.dropout) if (!(p >= 0 && p < 1)) throw new Error(`dropout must be in [0, 1), got ${p}`);
    this.rng = createRng(opts.seed);
    const gain = (a: Activation) => (a === 'relu' ? Math.SQRT2 : 1);
    this.layers = [
      new Dense(inputs, units[0], this.rng, gain(activations[0])),
      new Dense(units[0], units[1], this.rng, gain(activations[1])),
      new Dense(units[1], outputs, this.rng, 1),
    ];
    // evaluation runs in chunks of the same buffers, so size them for at least 256 rows
    this.maxRows = Math.max(batchSize, 256);
    const R = this.maxRows;
    this.xb = new Float64Array(R * inputs);
    this.h1 = new Float64Array(R * units[0]);
    this.h2 = new Float64Array(R * units[1]);
    this.d1 = new Float64Array(R * units[0]);
    this.d2 = new Float64Array(R * units[1]);
    this.out = new Float64Array(R * outputs);
    this.dOut = new Float64Array(R * outputs);
    this.dh1 = new Float64Array(R * units[0]);
    this.dh2 = new Float64Array(R * units[1]);
  }

  /** Epochs trained so far. */
  get epochsTrained(): number {
    return this.epoch;
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.layers.reduce((n, l) => n + l.w.length + l.b.length, 0);
  }

  /** A snapshot of the run (copies: training on does not change it). */
  state(): MLPState {
    return {
      opts: structuredClone(this.opts),
      epoch: this.epoch,
      t: this.t,
      rng: this.rng.state(),
      order: this.order.slice(),
      tensors: this.layers.flatMap((l) => l.tensors().map((a) => a.slice())),
    };
  }

  /** Continues the run of `state`, which must come from a network with these options. */
  setState(state: MLPState): void {
    const differ = (Object.keys(this.opts) as (keyof MLPOptions)[]).filter((k) => JSON.stringify(state.opts[k]) !== JSON.stringify(this.opts[k]));
    if (differ.length > 0) {
      throw new Error(`the MLP state is of another network: ${differ.map((k) => `${k} ${JSON.stringify(state.opts[k])} there, ${JSON.stringify(this.opts[k])} here`).join('; ')}`);
    }
    const mine = this.layers.flatMap((l) => l.tensors());
    if (state.tensors.length !== mine.length || state.tensors.some((a, i) => a.length !== mine[i].length)) {
      throw new Error('the MLP state does not have the tensors of this network');
    }
    mine.forEach((a, i) => a.set(state.tensors[i]));
    this.order = state.order.slice();
    this.epoch = state.epoch;
    this.t = state.t;
    this.rng.setState(state.rng);
  }

  /**
   * A state as bytes: a magic line, a JSON header (options, counters, RNG state, array lengths and
   * the SHA-256 of the body), then the arrays' raw bytes (little-endian on every platform Node
   * supports), so that a checkpoint holds the float64 values exactly and compactly.
   */
  static encodeState(state: MLPState): Buffer {
    const arrays = [...state.tensors, state.order];
    const body = Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    const header = Buffer.from(
      JSON.stringify({
        opts: state.opts,
        epoch: state.epoch,
        t: state.t,
        rng: state.rng,
        tensors: state.tensors.map((a) => a.length),
        order: state.order.length,
        sha256: createHash('sha256').update(body).digest('hex'),
      }),
    );
    const size = Buffer.alloc(4);
    size.writeUInt32LE(header.length);
    return Buffer.concat([STATE_MAGIC, size, header, body]);
  }

  /** The inverse of encodeState; throws an error saying what is wrong with bytes that are not a whole state. */
  static decodeState(bytes: Uint8Array): MLPState {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bad = (why: string) => new Error(`not a valid MLP state: ${why}`);
    if (buf.length < STATE_MAGIC.length + 4 || !buf.subarray(0, STATE_MAGIC.length).equals(STATE_MAGIC)) throw bad('no tunelab MLP header');
    const headerEnd = STATE_MAGIC.length + 4 + buf.readUInt32LE(STATE_MAGIC.length);
    if (headerEnd > buf.length) throw bad(`truncated (${buf.length} bytes)`);
    let h: { opts: MLPOptions; epoch: number; t: number; rng: RngState; tensors: number[]; order: number; sha256: string };
    try {
      h = JSON.parse(buf.subarray(STATE_MAGIC.length + 4, headerEnd).toString('utf8'));
    } catch (e) {
      throw bad(`unreadable header (${(e as Error).message})`);
    }
    const count = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
    if (!h || typeof h.opts !== 'object' || !Array.isArray(h.tensors) || !h.tensors.every(count) || ![h.order, h.epoch, h.t].every(count)) throw bad('incomplete header');
    const body = buf.subarray(headerEnd);
    const expected = 8 * h.tensors.reduce((n, len) => n + len, 0) + 4 * h.order;
    if (body.length !== expected) throw bad(`${body.length} bytes of arrays, the header announces ${expected}`);
    if (createHash('sha256').update(body).digest('hex') !== h.sha256) throw bad('checksum mismatch');
    // copy out of the file buffer: typed arrays need aligned offsets
    const copy = new Uint8Array(body).buffer;
    let offset = 0;
    const tensors = h.tensors.map((len) => {
      const a = new Float64Array(copy, offset, len);
      offset += 8 * len;
      return a;
    });
    return { opts: h.opts, epoch: h.epoch, t: h.t, rng: h.rng, order: new Int32Array(copy, offset, h.order), tensors };
  }

  private learningRate(): number {
    const { learningRate, schedule, epochs } = this.opts;
    if (schedule === 'const') return learningRate;
    // cosine annealing over the whole run, constant within an epoch
    return 0.5 * learningRate * (1 + Math.cos((Math.PI * this.epoch) / epochs));
  }

  private forward(rows: number, train: boolean): void {
    const [l1, l2, l3] = this.layers;
    const { activations, dropout, units } = this.opts;
    l1.forward(this.xb, this.h1, rows);
    activate(activations[0], this.h1, this.d1, rows * units[0]);
    if (train && dropout[0] > 0) this.dropout(this.h1, this.d1, rows * units[0], dropout[0]);
    l2.forward(this.h1, this.h2, rows);
    activate(activations[1], this.h2, this.d2, rows * units[1]);
    if (train && dropout[1] > 0) this.dropout(this.h2, this.d2, rows * units[1], dropout[1]);
    l3.forward(this.h2, this.out, rows);
  }

  /** Inverted dropout: zero with probability p, scale the kept units (and their gradient) by 1/(1-p). */
  private dropout(h: Float64Array, d: Float64Array, len: number, p: number): void {
    const scale = 1 / (1 - p);
    const rng = this.rng;
    for (let i = 0; i < len; i++) {
      if (rng.next() < p) {
        h[i] = 0;
        d[i] = 0;
      } else {
        h[i] *= scale;
        d[i] *= scale;
      }
    }
  }

  /** Correct predictions of the last `loss` call (kept in a field: no object per batch). */
  private correct = 0;

  /** Loss summed over the rows in `out`, with dOut = ∂(mean loss)/∂out when `grad` is set. */
  private loss(y: Float64Array, idx: Int32Array | undefined, start: number, rows: number, grad: boolean): number {
    const k = this.opts.outputs;
    const out = this.out;
    const dOut = this.dOut;
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const target = y[idx ? idx[start + r] : start + r];
      const o = r * k;
      if (this.opts.task === 'regression') {
        const e = out[o] - target;
        loss += e * e;
        if (grad) dOut[o] = (2 * e) / rows;
      } else {
        let max = -Infinity;
        let arg = 0;
        for (let j = 0; j < k; j++) {
          if (out[o + j] > max) {
            max = out[o + j];
            arg = j;
          }
        }
        let sum = 0;
        for (let j = 0; j < k; j++) sum += Math.exp(out[o + j] - max);
        const logZ = max + Math.log(sum);
        loss += logZ - out[o + target];
        if (arg === target) correct++;
        if (grad) {
          for (let j = 0; j < k; j++) dOut[o + j] = (Math.exp(out[o + j] - logZ) - (j === target ? 1 : 0)) / rows;
        }
      }
    }
    this.correct = correct;
    return loss;
  }

  /** One pass over the training set in a fresh random order; returns the mean training loss. */
  trainEpoch(data: TrainSet): number {
    const { inputs, batchSize, units } = this.opts;
    const [l1, l2, l3] = this.layers;
    if (this.order.length !== data.n) this.order = Int32Array.from({ length: data.n }, (_, i) => i);
    const order = this.order;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng.next() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    const lr = this.learningRate();
    let total = 0;
    for (let start = 0; start < data.n; start += batchSize) {
      const rows = Math.min(batchSize, data.n - start);
      const xb = this.xb;
      const x = data.x;
      for (let r = 0; r < rows; r++) {
        const src = order[start + r] * inputs;
        for (let k = 0; k < inputs; k++) xb[r * inputs + k] = x[src + k];
      }
      this.forward(rows, true);
      total += this.loss(data.y, order, start, rows, true);
      // backward: output layer, then each hidden layer's delta = dh ⊙ activation' ⊙ dropout mask
      l3.backward(this.h2, this.dOut, this.dh2, rows);
      const n2 = rows * units[1];
      for (let i = 0; i < n2; i++) this.dh2[i] *= this.d2[i];
      l2.backward(this.h1, this.dh2, this.dh1, rows);
      const n1 = rows * units[0];
      for (let i = 0; i < n1; i++) this.dh1[i] *= this.d1[i];
      l1.backward(this.xb, this.dh1, undefined, rows);
      this.t++;
      const c1 = 1 - Math.pow(BETA1, this.t);
      const c2 = 1 - Math.pow(BETA2, this.t);
      l1.adam(lr, c1, c2);
      l2.adam(lr, c1, c2);
      l3.adam(lr, c1, c2);
    }
    this.epoch++;
    return capLoss(total / data.n);
  }

  /** Mean loss and accuracy (classification) or R² (regression) on `data`, without dropout. */
  evaluate(data: TrainSet): Evaluation {
    const { inputs } = this.opts;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < data.n; start += this.maxRows) {
      const rows = Math.min(this.maxRows, data.n - start);
      this.xb.set(data.x.subarray(start * inputs, (start + rows) * inputs));
      this.forward(rows, false);
      loss += this.loss(data.y, undefined, start, rows, false);
      correct += this.correct;
    }
    const meanLoss = capLoss(loss / data.n);
    if (this.opts.task === 'classification') return { loss: meanLoss, score: correct / data.n };
    let mean = 0;
    for (let i = 0; i < data.n; i++) mean += data.y[i];
    mean /= data.n;
    let ss = 0;
    for (let i = 0; i < data.n; i++) ss += (data.y[i] - mean) ** 2;
    // R² = 1 - SSE/SST, floored so that a diverged run stays a finite number
    const r2 = 1 - loss / ss;
    return { loss: meanLoss, score: Number.isFinite(r2) ? Math.max(-LOSS_CAP, r2) : -LOSS_CAP };
  }
}

function capLoss(x: number): number {
  return Number.isFinite(x) && x < LOSS_CAP ? x : LOSS_CAP;
}
