import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { uniform } from '../src/config-space/index.js';
import { getBenchmark } from '../src/launchers/benchmarks/index.js';
import { runExperiment } from '../src/launchers/experiment.js';
import { getMethod } from '../src/methods/registry.js';
import { rankByFrontAndCrowding } from '../src/results/pareto.js';
import { ParEGOSearcher } from '../src/schedulers/searchers/parego.js';
import { createRng } from '../src/util/rng.js';
import { readRows, stopAndResume, tempDir } from './helpers.js';

// issue 27: the scheduler's scalar of each result as a named results column (MO-BO, MO-ASHA), none for the others

describe("a method's scalar in the results rows", () => {
  it("MO-ASHA's mo_asha_rank is the position a result took among its rung's points by front and crowding, and decides its stop", async () => {
    const run = await runExperiment({ tag: 's', method: getMethod('MO-ASHA'), benchmark: getBenchmark('fcnet-cars-mo'), seed: 0, masterSeed: 2, resultsRoot: tempDir(), maxWallclockTime: 2 });
    const rows = readRows(join(run.folder, 'results.csv.gz'));
    expect(Object.keys(rows[0])).toContain('mo_asha_rank');
    const levels = [1, 3, 9];
    const atLevel = new Map<number, number[][]>(levels.map((l) => [l, []]));
    let ranked = 0;
    for (const r of rows) {
      const epoch = r.epoch as number;
      if (!levels.includes(epoch)) {
        expect(r.mo_asha_rank).toBeNull();
        continue;
      }
      const points = atLevel.get(epoch)!;
      points.push([r.valid_loss as number, r.n_params as number]);
      // the oracle: the whole rung sorted again, the new point's place in it
      const position = rankByFrontAndCrowding(points).indexOf(points.length - 1);
      expect(r.mo_asha_rank, `row of trial ${r.trial_id} at epoch ${epoch}`).toBe(position);
      expect(r.st_decision).toBe(position >= Math.ceil(points.length / 3) ? 'stop' : 'continue');
      ranked++;
    }
    expect(ranked).toBeGreaterThan(50);
  });

  it("MO-BO's parego_scalar is the trial's result scalarized under the weights it was proposed under, by the ranges observed so far", () => {
    const objectives = [
      { metric: 'f1', mode: 'min' as const },
      { metric: 'f2', mode: 'max' as const },
    ];
    const s = new ParEGOSearcher({ configSpace: { x: uniform(0, 1) }, metric: 'f1', mode: 'min', objectives, rng: createRng(3) }, { numInitRandom: 3 });
    const points: number[][] = [];
    const written: (number | undefined)[] = [];
    for (let id = 0; id < 8; id++) {
      const x = s.suggest(id)!.x as number;
      const metrics = { f1: (x - 0.2) ** 2, f2: x };
      s.onTrialResult(id, 1, metrics.f1, metrics);
      s.onTrialIdle(id);
      points.push([metrics.f1, -metrics.f2]);
      written.push(s.scalar.of(id));
    }
    const weights = new Map((s.state() as { weights: [number, number[]][] }).weights);
    // proposed before any observation: no weights, an empty cell
    expect(written[0]).toBeUndefined();
    expect([...weights.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (let id = 1; id < 8; id++) {
      const w = weights.get(id)!;
      expect(w[0] + w[1]).toBeCloseTo(1, 12);
      const seen = points.slice(0, id + 1);
      const f = [0, 1].map((k) => {
        const lo = Math.min(...seen.map((p) => p[k]));
        const hi = Math.max(...seen.map((p) => p[k]));
        return hi > lo ? (points[id][k] - lo) / (hi - lo) : 0;
      });
      const expected = Math.max(w[0] * f[0], w[1] * f[1]) + 0.05 * (w[0] * f[0] + w[1] * f[1]);
      expect(written[id]).toBeCloseTo(expected, 12);
    }
  });

  it("MO-BO stopped and resumed writes the same rows as one run, its scalars among them (the weights are in tuner.json)", async () => {
    const spec = { tag: 'r', method: getMethod('MO-BO'), benchmark: getBenchmark('fcnet-cars-mo'), seed: 0, masterSeed: 5, maxNumTrialsStarted: 14 };
    const { rows, resumedRows: again } = await stopAndResume(spec, 80);
    expect(again).toEqual(rows);
    expect(again.filter((r) => r.parego_scalar !== null).length).toBeGreaterThan(rows.length / 2);
  });

  it('MO-BO writes the column on the simulator; a single-objective run writes the bytes it wrote before the column existed', async () => {
    const mobo = await runExperiment({ tag: 'b', method: getMethod('MO-BO'), benchmark: getBenchmark('fcnet-cars-mo'), seed: 0, masterSeed: 1, resultsRoot: tempDir(), maxNumTrialsStarted: 12 });
    const rows = readRows(join(mobo.folder, 'results.csv.gz'));
    const header = Object.keys(rows[0]);
    expect(header.indexOf('parego_scalar')).toBe(header.findLastIndex((c) => c.startsWith('config_')) + 1);
    const scalars = rows.map((r) => r.parego_scalar).filter((v) => v !== null) as number[];
    expect(scalars.length).toBeGreaterThan(rows.length / 2);
    for (const v of scalars) expect(v >= 0 && v <= 1.05).toBe(true);

    // ASHA on fcnet-cars: the results' text hashed when tunelab wrote no scalar column (commit a72b3bd)
    const asha = await runExperiment({ tag: 'a', method: getMethod('ASHA'), benchmark: getBenchmark('fcnet-cars'), seed: 0, masterSeed: 7, resultsRoot: tempDir(), maxWallclockTime: 3 });
    const text = gunzipSync(readFileSync(join(asha.folder, 'results.csv.gz')));
    expect(text.toString('utf8').split('\n')[0]).not.toMatch(/scalar|rank/);
    expect(createHash('sha256').update(text).digest('hex')).toBe(ASHA_RESULTS_SHA256);
  });
});

const ASHA_RESULTS_SHA256 = '1300a2e106886d5e0d3e4f5606511fb8b2829e9d2ce49491f163cc9c443e81c7';
