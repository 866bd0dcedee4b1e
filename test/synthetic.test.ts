import { describe, expect, it } from 'vitest';
import { branin, hartmann6, syntheticBlackbox } from '../src/blackbox/synthetic.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { sampleConfig } from '../src/config-space/index.js';
import { createRng } from '../src/util/rng.js';

describe('closed-form functions', () => {
  it("Branin's three minima are 0.397887 and Hartmann6's is −3.32237 at its known argmin", () => {
    for (const [x1, x2] of [[-Math.PI, 12.275], [Math.PI, 2.275], [9.42478, 2.475]]) expect(branin(x1, x2)).toBeCloseTo(0.397887, 5);
    expect(hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])).toBeCloseTo(-3.32237, 5);
    // a corner is far from every bump
    expect(hartmann6([1, 1, 1, 1, 1, 1])).toBeGreaterThan(-0.01);
  });
});

describe('synthetic-hartmann6', () => {
  it('is a closed-form benchmark (value, minimised, 4 workers, 2,700 s)', () => {
    const b = getBenchmark('synthetic-hartmann6');
    expect([b.blackbox, b.metric, b.mode, b.nWorkers, b.maxWallclockTime, b.data]).toEqual(['synthetic-hartmann6', 'value', 'min', 4, 2700, 'closed form']);
  });

  it('ends each curve at the function itself (± 1 % noise), starts it biased upwards, and the optimum is the function’s', () => {
    const bb = syntheticBlackbox('synthetic-hartmann6');
    expect(bb.fidelityValues).toHaveLength(27);
    const M = bb.objectiveNames.length;
    const rng = createRng(3);
    for (let k = 0; k < 50; k++) {
      const c = sampleConfig(bb.configSpace, rng);
      const h = hartmann6([1, 2, 3, 4, 5, 6].map((j) => c[`x${j}`] as number));
      const curve = bb.curve(c, k);
      const last = curve[26 * M];
      expect(Math.abs(last / h - 1)).toBeLessThan(0.05);
      // start = h + 3 − 2 · x3 ≥ h + 1: the first epoch is above the last by most of that
      expect(curve[0]).toBeGreaterThan(last + 0.5);
      // elapsed time grows by 1 + x1 + x5 per epoch (a config's cost factor e^(0.02 N), each epoch ± 2 %)
      expect(Math.abs(curve[26 * M + M - 1] / (27 * (1 + (c.x1 as number) + (c.x5 as number))) - 1)).toBeLessThan(0.1);
    }
    const optimum = { x1: 0.20169, x2: 0.150011, x3: 0.476874, x4: 0.275332, x5: 0.311652, x6: 0.6573 };
    const finals = [0, 1, 2, 3].map((seed) => bb.curve(optimum, seed)[26 * M]);
    for (const v of finals) expect(v).toBeCloseTo(-3.32237, 0);
  });
});
