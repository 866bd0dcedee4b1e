import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectedImprovement, normalCdf, normalPdf } from '../src/schedulers/gp/acquisition.js';
import { expectedHypervolumeImprovement, nonDominatedBoxes } from '../src/schedulers/gp/ehvi.js';
import { hypervolume } from '../src/results/pareto.js';
import { EHVISearcher } from '../src/schedulers/searchers/ehvi.js';
import { uniform } from '../src/config-space/index.js';
import { createRng, randomNormal } from '../src/util/rng.js';
import { cliPath, runFile, tempDir } from './helpers.js';

/** The hypervolume a point adds to a front. */
const improvement = (front: number[][], y: number[], ref: number[]) => hypervolume([...front, y], ref) - hypervolume(front, ref);

describe('expected hypervolume improvement (src/schedulers/gp/ehvi.ts)', () => {
  it('equals the closed form on a one-point 2-D front', () => {
    // front {(a1, a2)}, reference r: EHVI = ψ1(a1)·ψ2(r2) + (ψ1(r1) − ψ1(a1))·ψ2(a2), ψ(c) = (c − μ)Φ((c − μ)/σ) + σφ((c − μ)/σ)
    const [a1, a2, r1, r2] = [0.3, 0.5, 1, 1];
    const [mu, sd] = [[0.4, 0.6], [0.15, 0.25]];
    const psi = (c: number, k: number) => (c - mu[k]) * normalCdf((c - mu[k]) / sd[k]) + sd[k] * normalPdf((c - mu[k]) / sd[k]);
    const closed = psi(a1, 0) * psi(r2, 1) + (psi(r1, 0) - psi(a1, 0)) * psi(a2, 1);
    expect(expectedHypervolumeImprovement(nonDominatedBoxes([[a1, a2]], [r1, r2]), mu, sd)).toBeCloseTo(closed, 14);
  });

  it('on a hand-made 2-D front: the integral of P(Y ≤ z) over the region the front leaves, and the deterministic improvement as σ → 0', () => {
    const front = [[0.2, 0.6], [0.5, 0.3], [0.8, 0.1], [0.6, 0.6]];
    const ref = [1, 1];
    const boxes = nonDominatedBoxes(front, ref);
    // (0.6, 0.6) is dominated: four strips
    expect(boxes.count).toBe(4);
    const mu = [0.35, 0.4];
    const sd = [0.1, 0.2];
    // midpoint rule over [−1.5, 1] × [−1.5, 1] (the density is negligible below), z outside the dominated region
    const N = 1000;
    const h = 2.5 / N;
    let integral = 0;
    for (let i = 0; i < N; i++) {
      const z1 = -1.5 + (i + 0.5) * h;
      for (let j = 0; j < N; j++) {
        const z2 = -1.5 + (j + 0.5) * h;
        if (front.some((p) => p[0] <= z1 && p[1] <= z2)) continue;
        integral += normalCdf((z1 - mu[0]) / sd[0]) * normalCdf((z2 - mu[1]) / sd[1]) * h * h;
      }
    }
    expect(expectedHypervolumeImprovement(boxes, mu, sd)).toBeCloseTo(integral, 3);
    for (const y of [[0.35, 0.4], [0.1, 0.9], [0.9, 0.05], [0.7, 0.7], [1.2, 0.1]]) {
      expect(expectedHypervolumeImprovement(boxes, y, [1e-12, 1e-12])).toBeCloseTo(improvement(front, y, ref), 12);
    }
  });

  it('in 3-D: exact as σ → 0, and the mean improvement of seeded Monte Carlo samples', () => {
    const rng = createRng(5);
    const ref = [1, 1, 1];
    for (let trial = 0; trial < 5; trial++) {
      const front = Array.from({ length: 8 }, () => [rng.next(), rng.next(), rng.next()]);
      const boxes = nonDominatedBoxes(front, ref);
      for (let t = 0; t < 10; t++) {
        const y = [rng.next(), rng.next(), rng.next()];
        expect(expectedHypervolumeImprovement(boxes, y, [1e-12, 1e-12, 1e-12])).toBeCloseTo(improvement(front, y, ref), 12);
      }
      const mu = [0.3, 0.4, 0.5];
      const sd = [0.2, 0.1, 0.3];
      const n = 20_000;
      let sum = 0;
      let sumSq = 0;
      for (let s = 0; s < n; s++) {
        const v = improvement(front, mu.map((m, k) => m + sd[k] * randomNormal(rng)), ref);
        sum += v;
        sumSq += v * v;
      }
      const mean = sum / n;
      const se = Math.sqrt((sumSq / n - mean * mean) / n);
      expect(Math.abs(expectedHypervolumeImprovement(boxes, mu, sd) - mean)).toBeLessThan(4 * se + 1e-9);
    }
  });

  it('with one objective is expected improvement below the best', () => {
    const boxes = nonDominatedBoxes([[0.4], [0.2], [0.7]], [1]);
    expect(expectedHypervolumeImprovement(boxes, [0.3], [0.1])).toBeCloseTo(expectedImprovement(0.3, 0.01, 0.2), 14);
  });
});

describe('the EHVI searcher', () => {
  const objectives = [
    { metric: 'f1', mode: 'min' as const },
    { metric: 'f2', mode: 'max' as const },
  ];
  const problem = (seed: number) => ({ configSpace: { x: uniform(0, 1), y: uniform(0, 1) }, metric: 'f1', mode: 'min' as const, objectives, rng: createRng(seed) });
  // a front along x: f1 = x, f2 = 1 − x² is maximised, both in [0, 1]; y only adds a penalty
  const evaluate = (c: { x: number; y: number }) => ({ f1: c.x + c.y, f2: 1 - c.x * c.x - c.y });

  it('after its random start proposes configs on the front (y near 0), and refuses 4 objectives', () => {
    const s = new EHVISearcher(problem(1), { numInitRandom: 5 });
    const ys: number[] = [];
    for (let i = 0; i < 25; i++) {
      const c = s.suggest(i) as { x: number; y: number };
      if (i >= 5) ys.push(c.y);
      s.onTrialResult(i, 1, 0, evaluate(c));
      s.onTrialIdle(i);
    }
    expect(s.suggestionCounts()).toEqual({ model: 20, random: 5 });
    // y only worsens both objectives: the model's configs sit near y = 0, random ones average 0.5
    ys.sort((a, b) => a - b);
    expect(ys[Math.floor(ys.length / 2)]).toBeLessThan(0.1);
    expect(() => new EHVISearcher({ ...problem(1), objectives: [...objectives, { metric: 'f3', mode: 'min' }, { metric: 'f4', mode: 'min' }] })).toThrow(/1 to 3 objectives, got 4/);
  });

  it('gives parallel workers different configs (kriging believer) and continues bit-identically from its state', () => {
    const pa = problem(2);
    const a = new EHVISearcher(pa);
    for (let i = 0; i < 8; i++) {
      const c = a.suggest(i) as { x: number; y: number };
      a.onTrialResult(i, 1, 0, evaluate(c));
      a.onTrialIdle(i);
    }
    const state = JSON.parse(JSON.stringify(a.state()));
    const rngState = pa.rng.state();
    const p1 = a.suggest(8);
    const p2 = a.suggest(9);
    expect(p1).not.toEqual(p2);
    const pb = problem(99);
    const b = new EHVISearcher(pb);
    b.restore(state);
    pb.rng.setState(rngState);
    expect(b.suggest(8)).toEqual(p1);
    expect(b.suggest(9)).toEqual(p2);
  });
});

describe('EHVI on an experiment file (run -f, local backend)', () => {
  const experiment = (dir: string, metrics: { name: string; objective: string }[]) => {
    const file = join(dir, 'experiment.json');
    // loss falls and latency rises with x: a trade-off along x; y only adds to both
    const script = "const c = JSON.parse(process.env.TUNELAB_CONFIG); console.log('[tunelab] ' + JSON.stringify({ loss: 1 - c.x + c.y, latency: c.x + c.y, a: 1, b: 2 }));";
    writeFileSync(
      file,
      JSON.stringify({
        name: 'ehvi',
        parameters: [
          { name: 'x', type: 'double', bounds: { min: 0, max: 1 } },
          { name: 'y', type: 'double', bounds: { min: 0, max: 1 } },
        ],
        metrics,
        command: [process.execPath, '-e', script, '--'],
        method: 'EHVI',
        budget: { max_trials: 12 },
        parallel_bandwidth: 2,
        random_seed: 5,
      }),
    );
    return file;
  };

  it('runs with the observed range as normalisation, its model configs near y = 0', () => {
    const dir = tempDir();
    const { rows, folder } = runFile(experiment(dir, [{ name: 'loss', objective: 'minimize' }, { name: 'latency', objective: 'minimize' }]), dir);
    expect(new Set(rows.map((r) => r.trial_id)).size).toBe(12);
    const model = rows.filter((r) => (r.trial_id as number) >= 5).map((r) => r.config_y as number).sort((a, b) => a - b);
    expect(model[Math.floor(model.length / 2)]).toBeLessThan(0.25);
    const best = spawnSync(process.execPath, [cliPath, 'best', folder, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(best.stdout).points.length).toBeGreaterThan(1);
  });

  it('refuses four objectives, naming its limit, with exit 2', () => {
    const dir = tempDir();
    const file = experiment(dir, ['loss', 'latency', 'a', 'b'].map((name) => ({ name, objective: 'minimize' })));
    const r = spawnSync(process.execPath, [cliPath, 'run', '-f', file, '--results_root', dir], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/method EHVI handles at most 3 objectives, and there are 4 \(loss, latency, a, b\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
