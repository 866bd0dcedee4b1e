import { describe, expect, it } from 'vitest';
import { uniform, type Config } from '../src/config-space/index.js';
import { HyperbandScheduler, rungLevels } from '../src/schedulers/hyperband.js';
import type { Mode, SearchProblem, Searcher } from '../src/schedulers/types.js';
import { createRng } from '../src/util/rng.js';

/** A searcher that proposes x = trial id, so tests can name trials by their config. */
class CountingSearcher implements Searcher {
  idle: [number, string][] = [];
  resumed: number[] = [];
  suggest(trialId: number): Config {
    return { x: trialId };
  }
  onTrialResult() {}
  onTrialIdle(id: number, reason: string) {
    this.idle.push([id, reason]);
  }
  onTrialResumed(id: number) {
    this.resumed.push(id);
  }
  metadata() {
    return {};
  }
  state() {
    return null;
  }
  restore() {}
}

function makeScheduler(type: 'stopping' | 'promotion', mode: Mode = 'min', extra: { brackets?: number; maxT?: number } = {}) {
  const problem: SearchProblem = { configSpace: { x: uniform(0, 1000) }, metric: 'loss', mode, rng: createRng(1) };
  const searcher = new CountingSearcher();
  const scheduler = new HyperbandScheduler(problem, searcher, { type, maxT: extra.maxT ?? 9, brackets: extra.brackets });
  return { scheduler, searcher };
}
const result = (resource: number, loss: number) => ({ resource, metrics: { loss, epoch: resource } });

describe('rung levels', () => {
  it('are round(grace · η^k) below maxT', () => {
    expect(rungLevels(1, 3, 100)).toEqual([1, 3, 9, 27, 81]);
    expect(rungLevels(1, 3, 81)).toEqual([1, 3, 9, 27]);
    expect(rungLevels(2, 2, 20)).toEqual([2, 4, 8, 16]);
    expect(rungLevels(1, 3, 1)).toEqual([]);
  });
  it('reject bad settings by name', () => {
    expect(() => makeScheduler('stopping', 'min', { brackets: 4 })).toThrow(/brackets must be an integer in \[1, 2\] for rung levels \[1, 3\], got 4/);
  });
});

describe('ASHA, stopping type', () => {
  it('continues a trial only if it is in the top 1/η of its rung so far', () => {
    const { scheduler, searcher } = makeScheduler('stopping');
    const values = [5, 3, 4, 1, 6, 3.5, 2];
    // n values at rung 1 after each arrival; continue iff rank < ceil(n/3)
    const expected = ['continue', 'continue', 'stop', 'continue', 'stop', 'stop', 'continue'];
    values.forEach((v, i) => {
      expect(scheduler.suggest(i)).toEqual({ config: { x: i } });
      expect(scheduler.onTrialResult(i, result(1, v))).toBe(expected[i]);
    });
    // between rungs every result continues
    expect(scheduler.onTrialResult(0, result(2, 100))).toBe('continue');
    // rung 3: first arrival continues, a worse second one is stopped
    expect(scheduler.onTrialResult(3, result(3, 0.5))).toBe('continue');
    expect(scheduler.onTrialResult(0, result(3, 0.9))).toBe('stop');
    // results at maxT never stop
    expect(scheduler.onTrialResult(3, result(9, 99))).toBe('continue');
    expect(scheduler.informationForRungs()).toEqual([
      { level: 1, count: 7 },
      { level: 3, count: 2 },
    ]);
    expect(searcher.idle.filter(([, r]) => r === 'stopped').map(([id]) => id)).toEqual([2, 4, 5, 0]);
  });

  it('reads the top 1/η the other way round in max mode', () => {
    const { scheduler } = makeScheduler('stopping', 'max');
    const decisions = [5, 3, 4, 7].map((v, i) => {
      scheduler.suggest(i);
      return scheduler.onTrialResult(i, result(1, v));
    });
    expect(decisions).toEqual(['continue', 'stop', 'stop', 'continue']);
  });

  it('records a trial that skips past a rung level at that level', () => {
    const { scheduler } = makeScheduler('stopping');
    scheduler.suggest(0);
    expect(scheduler.onTrialResult(0, result(4, 1))).toBe('continue');
    expect(scheduler.informationForRungs()).toEqual([
      { level: 1, count: 1 },
      { level: 3, count: 1 },
    ]);
  });
});

describe('ASHA, promotion type', () => {
  it('pauses trials at rungs and promotes the best unpromoted one in the top 1/η', () => {
    const { scheduler, searcher } = makeScheduler('promotion');
    const start = (id: number, loss: number) => {
      expect(scheduler.suggest(id)).toEqual({ config: { x: id } });
      expect(scheduler.onTrialResult(id, result(1, loss))).toBe('pause');
    };
    start(0, 5);
    start(1, 3);
    // 2 entries: floor(2/3) = 0 can be promoted, so a new trial starts
    expect(scheduler.suggest(2)).toEqual({ config: { x: 2 } });
    expect(scheduler.onTrialResult(2, result(1, 4))).toBe('pause');
    // 3 entries: the best (trial 1) is promoted
    expect(scheduler.suggest(3)).toEqual({ resume: 1 });
    // trial 1 is promoted already; nothing else is in the top 1
    expect(scheduler.suggest(3)).toEqual({ config: { x: 3 } });
    expect(scheduler.onTrialResult(3, result(1, 1))).toBe('pause');
    // 4 entries: floor(4/3) = 1, and trial 3 (value 1) is the best
    expect(scheduler.suggest(4)).toEqual({ resume: 3 });
    start(4, 6);
    start(5, 2);
    // 6 entries [5,3,4,1,6,2]: the top 2 are trials 3 (promoted already) and 5; trial 1 (3) is not among them
    expect(scheduler.suggest(6)).toEqual({ resume: 5 });
    expect(scheduler.suggest(6)).toEqual({ config: { x: 6 } });
    expect(searcher.resumed).toEqual([1, 3, 5]);
    // promoted trial 1 continues through 2 and pauses at rung 3
    expect(scheduler.onTrialResult(1, result(2, 2.9))).toBe('continue');
    expect(scheduler.onTrialResult(1, result(3, 2.5))).toBe('pause');
  });

  it('promotes from the highest rung first', () => {
    const { scheduler } = makeScheduler('promotion', 'min', { maxT: 27 });
    // start 9 trials, then fill rung 1 with them; the top 3 get promoted to rung 3
    for (let i = 0; i < 9; i++) expect(scheduler.suggest(i)).toEqual({ config: { x: i } });
    for (let i = 0; i < 9; i++) expect(scheduler.onTrialResult(i, result(1, 10 + i))).toBe('pause');
    const promoted = [scheduler.suggest(9), scheduler.suggest(9), scheduler.suggest(9)];
    expect(promoted).toEqual([{ resume: 0 }, { resume: 1 }, { resume: 2 }]);
    for (const id of [0, 1, 2]) expect(scheduler.onTrialResult(id, result(3, 5 - id))).toBe('pause');
    // rung 3 now has 3 entries: trial 2 (value 3) goes to rung 9 before rung 1's 4th best (trial 3)
    expect(scheduler.suggest(9)).toEqual({ resume: 2 });
    expect(scheduler.suggest(9)).toEqual({ config: { x: 9 } });
  });

  it('never promotes a trial from a rung a result carried it past (a report lost to a crash): it runs, or waits higher', () => {
    const { scheduler } = makeScheduler('promotion');
    // trial 0's first report is at epoch 4, past rungs 1 and 3: it pauses at rung 3 only
    expect(scheduler.suggest(0)).toEqual({ config: { x: 0 } });
    expect(scheduler.onTrialResult(0, result(4, 1))).toBe('pause');
    for (const [id, loss] of [
      [1, 5],
      [2, 6],
    ]) {
      expect(scheduler.suggest(id)).toEqual({ config: { x: id } });
      expect(scheduler.onTrialResult(id, result(1, loss))).toBe('pause');
    }
    // rung 1 holds 3 values, trial 0's the best: it is not waiting there, and 1 and 2 are not in the top 1
    expect(scheduler.suggest(3)).toEqual({ config: { x: 3 } });
  });

  it('never promotes a failed trial', () => {
    const { scheduler } = makeScheduler('promotion');
    for (let i = 0; i < 3; i++) {
      scheduler.suggest(i);
      scheduler.onTrialResult(i, result(1, i));
    }
    scheduler.onTrialError(0);
    expect(scheduler.suggest(3)).toEqual({ config: { x: 3 } });
  });
});

interface RecordedRungs {
  trials: [number, { bracket: number; nextRung: number }][];
  rungs: [number, { value: number; done: boolean }][][][];
}

/** The promotion rule restated over the recorded rungs: the best not-done entry ranked in the top floor(n/η), highest rung first. */
function expectedPromotion(st: RecordedRungs, mode: Mode): number | undefined {
  const better = (a: number, b: number) => (mode === 'min' ? a < b : a > b);
  for (const rungs of st.rungs) {
    for (let k = rungs.length - 1; k >= 0; k--) {
      const entries = rungs[k];
      const quota = Math.floor(entries.length / 3);
      const candidates = entries.filter(([, e]) => !e.done && entries.filter(([, o]) => better(o.value, e.value)).length < quota);
      const best = candidates.reduce<(typeof candidates)[number] | undefined>((b, c) => (b === undefined || better(c[1].value, b[1].value) ? c : b), undefined);
      if (best) return best[0];
    }
  }
  return undefined;
}

describe('rung bookkeeping against the rule restated naively', () => {
  // random event streams with many ties, failures and a checkpoint round trip half-way: every
  // suggestion and decision must be the one the rule gives on the rungs recorded before it
  for (const type of ['stopping', 'promotion'] as const) {
    for (const [mode, brackets] of [['min', 1], ['max', 3]] as const) {
      it(`${type}, ${mode}, ${brackets} bracket(s)`, () => {
        let { scheduler } = makeScheduler(type, mode, { brackets, maxT: 27 });
        const rng = createRng(`events:${type}:${mode}`);
        const levels = [1, 3, 9];
        const running = new Map<number, number>(); // trial → last resource reported
        const paused = new Map<number, number>();
        let nextId = 0;
        let promotions = 0;
        let stops = 0;
        for (let step = 0; step < 2500; step++) {
          if (step === 1250) {
            const restored = makeScheduler(type, mode, { brackets, maxT: 27 }).scheduler;
            restored.restore(JSON.parse(JSON.stringify(scheduler.state())));
            scheduler = restored;
          }
          const st = scheduler.state() as RecordedRungs;
          if (running.size < 6 || rng.next() < 0.05) {
            const expected = type === 'promotion' ? expectedPromotion(st, mode) : undefined;
            const s = scheduler.suggest(nextId);
            if (expected !== undefined) {
              expect(s).toEqual({ resume: expected });
              running.set(expected, paused.get(expected)!);
              paused.delete(expected);
              promotions++;
            } else {
              expect(s).toEqual({ config: { x: nextId } });
              running.set(nextId++, 0);
            }
            continue;
          }
          const ids = [...running.keys()];
          const id = ids[Math.floor(rng.next() * ids.length)];
          if (rng.next() < 0.01) {
            scheduler.onTrialError(id);
            running.delete(id);
            continue;
          }
          const resource = running.get(id)! + 1;
          const value = Math.floor(rng.next() * 10);
          const info = new Map(st.trials).get(id)!;
          const bracketLevels = levels.slice(info.bracket);
          let expected = 'continue';
          if (resource < 27 && bracketLevels[info.nextRung] === resource) {
            const entries = st.rungs[info.bracket][info.nextRung];
            const rank = entries.filter(([, e]) => (mode === 'min' ? e.value < value : e.value > value)).length;
            expected = type === 'promotion' ? 'pause' : rank < Math.ceil((entries.length + 1) / 3) ? 'continue' : 'stop';
          }
          const decision = scheduler.onTrialResult(id, result(resource, value));
          expect(decision).toBe(expected);
          if (decision === 'continue' && resource < 27) running.set(id, resource);
          else running.delete(id);
          if (decision === 'pause') paused.set(id, resource);
          if (decision === 'stop') stops++;
        }
        if (type === 'promotion') expect(promotions).toBeGreaterThan(100);
        else expect(stops).toBeGreaterThan(100);
      });
    }
  }
});

describe('asynchronous Hyperband', () => {
  it('spreads trials over brackets, most to the most aggressive one, and a bracket starts at its own rung', () => {
    const { scheduler } = makeScheduler('stopping', 'min', { brackets: 2 });
    const counts = [0, 0];
    for (let i = 0; i < 2000; i++) {
      scheduler.suggest(i);
      // every trial reports 0 at resource 1: a bracket-1 trial has no rung at 1 and is not recorded there
      scheduler.onTrialResult(i, result(1, 0));
    }
    const info = scheduler.informationForRungs();
    counts[0] = info[0].count;
    counts[1] = 2000 - counts[0];
    // weights: bracket 0 → 2/2·3 = 3, bracket 1 → 2/1·1 = 2; so 60 % / 40 %
    expect(counts[0] / 2000).toBeGreaterThan(0.56);
    expect(counts[0] / 2000).toBeLessThan(0.64);
  });

  it('state() and restore() continue identically', () => {
    const a = makeScheduler('promotion', 'min', { brackets: 2 }).scheduler;
    for (let i = 0; i < 20; i++) {
      const s = a.suggest(i);
      if (s && 'config' in s) a.onTrialResult(i, result(1, (i * 7) % 11));
    }
    const b = makeScheduler('promotion', 'min', { brackets: 2 }).scheduler;
    b.restore(JSON.parse(JSON.stringify(a.state())));
    for (let i = 20; i < 40; i++) {
      const sa = a.suggest(i);
      expect(b.suggest(i)).toEqual(sa);
      if (sa && 'config' in sa) expect(b.onTrialResult(i, result(1, i % 5))).toBe(a.onTrialResult(i, result(1, i % 5)));
    }
  });
});

import { hpoMain } from '../src/launchers/hpo-main.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readRows, tempDir } from './helpers.js';

describe('ASHA rung bookkeeping with several workers (simulated run, replayed)', () => {
  it('every stop decision in the results file follows the rule applied to the rows before it', async () => {
    const report = await hpoMain(
      { experimentTag: 'r', method: ['ASHA'], benchmark: ['synthetic-fcnet'], randomSeed: 5, resultsRoot: tempDir(), nWorkers: 8, maxWallclockTime: 1800 },
      { log: () => {}, progress: false },
    );
    const rows = readRows(join(report.outcomes[0].folder, 'results.csv.gz'));
    const levels = [1, 3, 9, 27, 81];
    const rungs = new Map<number, number[]>(levels.map((l) => [l, []]));
    let stops = 0;
    let checked = 0;
    for (const r of rows) {
      const epoch = r.epoch as number;
      const loss = r.valid_loss as number;
      const rung = rungs.get(epoch);
      if (!rung) {
        expect(r.st_decision).toBe('continue');
        continue;
      }
      rung.push(loss);
      const rank = rung.filter((v) => v < loss).length;
      const expected = rank < Math.ceil(rung.length / 3) ? 'continue' : 'stop';
      expect(r.st_decision).toBe(expected);
      checked++;
      if (expected === 'stop') stops++;
    }
    expect(checked).toBeGreaterThan(500);
    expect(stops).toBeGreaterThan(checked / 3);
    // a stopped trial reports nothing after its stop
    const stoppedAt = new Map<number, number>();
    for (const r of rows) {
      expect(stoppedAt.has(r.trial_id as number)).toBe(false);
      if (r.st_decision === 'stop') stoppedAt.set(r.trial_id as number, r.epoch as number);
    }
    // 8 workers: at most 8 trials are between their first and last row at any time
    const span = new Map<number, [number, number]>();
    for (const r of rows) {
      const id = r.trial_id as number;
      const t = r.st_tuner_time as number;
      const s = span.get(id);
      // start = first result time minus its training time (+1e-6 against float noise when a worker is reused at once)
      span.set(id, s ? [s[0], t] : [t - (r.st_worker_time as number) + 1e-6, t]);
    }
    const events = [...span.values()].flatMap(([a, b]) => [[a, 1], [b, -1]] as [number, number][]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let busy = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (busy += d));
    expect(peak).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThanOrEqual(7);
  });
});

describe('ASHA-PROMOTION results (simulated run)', () => {
  it('are bit-identical to those of the implementation that re-ranked a rung on every suggest', async () => {
    const report = await hpoMain(
      { experimentTag: 'p', method: ['ASHA-PROMOTION'], benchmark: ['synthetic-fcnet'], randomSeed: 5, resultsRoot: tempDir(), nWorkers: 8, maxWallclockTime: 900 },
      { log: () => {}, progress: false },
    );
    const csv = gunzipSync(readFileSync(join(report.outcomes[0].folder, 'results.csv.gz')));
    // sha256 of the decompressed results.csv written by commit 0ce31a9 (before the rank tree) for this run
    expect(createHash('sha256').update(csv).digest('hex')).toBe('213401acb26bf838c38372d0ce07e81e0b3199ee0dec9592c9ea5285b3b2b590');
    expect(readRows(join(report.outcomes[0].folder, 'results.csv.gz')).filter((r) => r.st_decision === 'pause').length).toBeGreaterThan(1000);
  });
});
