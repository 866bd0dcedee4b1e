import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulatorBackend } from '../src/backends/simulator.js';
import type { PollResult, TrialBackend } from '../src/backends/types.js';
import { syntheticBlackbox } from '../src/blackbox/synthetic.js';
import { hyperbandRandom, randomSearch } from '../src/methods/random.js';
import { Tuner, TunerError } from '../src/tuner/tuner.js';
import type { StoppingCriteria, TunerCallback } from '../src/tuner/types.js';
import { HyperbandScheduler } from '../src/schedulers/hyperband.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir } from './helpers.js';

const branin = syntheticBlackbox('synthetic-branin');
const args = (seed = 1) => ({
  configSpace: branin.configSpace,
  metric: 'value',
  mode: 'min' as const,
  resourceAttr: 'epoch',
  maxResource: 27,
  nWorkers: 4,
  rng: createRng(seed),
});

function makeTuner(stopping: StoppingCriteria, extra: Partial<ConstructorParameters<typeof Tuner>[0]> = {}) {
  const folder = tempDir();
  const tuner = new Tuner({
    scheduler: randomSearch(args()),
    backend: new SimulatorBackend(branin, { seed: 1 }),
    nWorkers: 4,
    stopping,
    configNames: ['x1', 'x2'],
    folder,
    ...extra,
  });
  return { tuner, folder, rows: () => readRows(join(folder, 'results.csv.gz')) };
}

describe('tuner stopping criteria', () => {
  it('max results: exactly that many rows', async () => {
    const { tuner, rows } = makeTuner({ maxNumResults: 50 });
    const summary = await tuner.run();
    expect(summary.numResults).toBe(50);
    expect(rows()).toHaveLength(50);
  });

  it('max trials started: no more trials, the started ones run to their end', async () => {
    const { tuner, rows } = makeTuner({ maxNumTrialsStarted: 5 });
    await tuner.run();
    const r = rows();
    expect(new Set(r.map((x) => x.trial_id))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(r).toHaveLength(5 * 27);
    expect(r.filter((x) => x.st_status === 'completed')).toHaveLength(5);
  });

  it('max trials started with promotion: once the budget is spent, only resumes are asked for and no config is drawn', async () => {
    const scheduler = hyperbandRandom(args(), { type: 'promotion' });
    const calls: boolean[] = [];
    const suggest = scheduler.suggest.bind(scheduler);
    scheduler.suggest = (trialId, allowNew) => {
      calls.push(allowNew ?? true);
      return suggest(trialId, allowNew);
    };
    const starts: string[] = [];
    const { tuner } = makeTuner({ maxNumTrialsStarted: 9 }, { scheduler, callbacks: [{ onTrialStart: (_t, trial, resumed) => starts.push(resumed ? 'resume' : 'new') }] });
    await tuner.run();
    expect([...tuner.trials.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // the paused trials went on being promoted after the ninth start
    expect(starts.filter((s) => s === 'new')).toHaveLength(9);
    expect(starts.slice(starts.lastIndexOf('new')).filter((s) => s === 'resume').length).toBeGreaterThan(0);
    const firstDenied = calls.indexOf(false);
    expect(firstDenied).toBeGreaterThan(0);
    // every call after the budget is spent is resume-only (the searcher drew nothing for a dropped trial 9)
    expect(calls.slice(firstDenied).every((c) => !c)).toBe(true);
    expect((scheduler.state() as { trials: [number, unknown][] }).trials.map(([id]) => id)).not.toContain(9);
  });

  it('max trials completed', async () => {
    const { tuner } = makeTuner({ maxNumTrialsCompleted: 3 });
    await tuner.run();
    expect([...tuner.trials.values()].filter((t) => t.status === 'completed')).toHaveLength(3);
  });

  it('max wall-clock time on the simulated clock', async () => {
    const { tuner, rows } = makeTuner({ maxWallclockTime: 100 });
    const summary = await tuner.run();
    const times = rows().map((x) => x.st_tuner_time as number);
    expect(Math.max(...times)).toBeLessThanOrEqual(100);
    expect(Math.max(...times)).toBeGreaterThan(90);
    expect(summary.tunerTime).toBe(100);
    // still-running trials were stopped at the end
    expect([...tuner.trials.values()].some((t) => t.status === 'running')).toBe(false);
  });
});

describe('tuner workers, columns and extra results', () => {
  it('never runs more than n_workers trials at once, and keeps them busy', async () => {
    let running = 0;
    let peak = 0;
    const track: TunerCallback = {
      onTrialStart: () => {
        running++;
        peak = Math.max(peak, running);
      },
      onTrialEnd: () => running--,
    };
    const { tuner } = makeTuner({ maxWallclockTime: 300 }, { nWorkers: 3, callbacks: [track] });
    await tuner.run();
    expect(peak).toBe(3);
  });

  it('writes the layout columns, then config_<name>, then the extra-results columns', async () => {
    const asha = hyperbandRandom(args(), { type: 'stopping' }) as HyperbandScheduler;
    const { tuner, rows } = makeTuner(
      { maxWallclockTime: 600 },
      {
        scheduler: asha,
        extraResults: {
          keys: () => ['num_at_level1', 'num_at_level3'],
          compose: (t) => {
            const info = (t.scheduler as HyperbandScheduler).informationForRungs();
            return { num_at_level1: info[0].count, num_at_level3: info[1].count };
          },
        },
      },
    );
    await tuner.run();
    expect(tuner.columns).toEqual([
      'trial_id',
      'st_tuner_time',
      'st_worker_time',
      'st_worker_iter',
      'st_decision',
      'st_status',
      'epoch',
      'value',
      'elapsed_time',
      'config_x1',
      'config_x2',
      'num_at_level1',
      'num_at_level3',
    ]);
    const r = rows();
    // the rung-1 count grows by one with every first result of a trial
    const firsts = r.filter((x) => x.epoch === 1).length;
    expect(r[r.length - 1].num_at_level1).toBe(firsts);
    expect(r.some((x) => x.st_decision === 'stop')).toBe(true);
  });

  it('rejects an extra-results key that clashes with a built-in column', () => {
    expect(() => makeTuner({ maxNumResults: 1 }, { extraResults: { keys: () => ['epoch'], compose: () => undefined } })).toThrow(
      /column 'epoch' appears twice/,
    );
  });
});

describe('checkpoints on a simulated clock', () => {
  /** The rowsWritten of tuner.json on disk, read every 100th result while the run goes on. */
  function checkpointsSeen(checkpointWallInterval: number) {
    const seen = new Set<number>();
    let n = 0;
    const watch: TunerCallback = {
      onResult: () => {
        if (n++ % 100 === 0) seen.add(JSON.parse(readFileSync(join(made.folder, 'tuner.json'), 'utf8')).rowsWritten);
      },
    };
    const made = makeTuner({ maxWallclockTime: 3000 }, { checkpointInterval: 60, checkpointWallInterval, callbacks: [watch] });
    return { ...made, seen };
  }

  it('are written every checkpointInterval simulated seconds when the wall-clock bound allows', async () => {
    const { tuner, seen } = checkpointsSeen(0);
    await tuner.run();
    expect(seen.size).toBeGreaterThan(10);
  });

  it('are written no more often than every checkpointWallInterval wall-clock seconds, and at the end', async () => {
    const { tuner, seen, folder, rows } = checkpointsSeen(3600);
    await tuner.run();
    // only the checkpoint written at the start was on disk while the run went on
    expect([...seen]).toEqual([0]);
    const final = JSON.parse(readFileSync(join(folder, 'tuner.json'), 'utf8'));
    expect(final.rowsWritten).toBe(rows().length);
    expect(final.rowsWritten).toBeGreaterThan(1000);
  });
});

/** The simulator, except that every third trial fails on its first poll. */
class FlakyBackend implements TrialBackend {
  private toFail: number[] = [];
  constructor(private readonly inner: SimulatorBackend) {}
  get resourceAttr() {
    return this.inner.resourceAttr;
  }
  get metricNames() {
    return this.inner.metricNames;
  }
  async start(id: number, config: Record<string, string | number | boolean>) {
    if (id % 3 === 1) this.toFail.push(id);
    else await this.inner.start(id, config);
  }
  pause(id: number) {
    return this.inner.pause(id);
  }
  resume(id: number) {
    return this.inner.resume(id);
  }
  stop(id: number) {
    return this.toFail.includes(id) ? Promise.resolve() : this.inner.stop(id);
  }
  async poll(deadline: number): Promise<PollResult> {
    if (this.toFail.length > 0) return { results: [], completed: [], failed: this.toFail.splice(0).map((trialId) => ({ trialId, error: 'exit code 1' })) };
    return this.inner.poll(deadline);
  }
  now() {
    return this.inner.now();
  }
  state() {
    return this.inner.state();
  }
  restore(s: unknown) {
    return this.inner.restore(s);
  }
  close() {
    return this.inner.close();
  }
}

describe('failures', () => {
  it('ends the run once more than max_failures trials failed, with the last error', async () => {
    const { tuner } = makeTuner({ maxWallclockTime: 600 }, { backend: new FlakyBackend(new SimulatorBackend(branin, { seed: 1 })), maxFailures: 2 });
    await expect(tuner.run()).rejects.toThrow(TunerError);
    const failed = [...tuner.trials.values()].filter((t) => t.status === 'failed');
    expect(failed.map((t) => t.id)).toEqual([1, 4, 7]);
  });

  it('tolerates failures up to max_failures', async () => {
    const { tuner, rows } = makeTuner({ maxNumResults: 200 }, { backend: new FlakyBackend(new SimulatorBackend(branin, { seed: 1 })), maxFailures: 100 });
    const summary = await tuner.run();
    expect(summary.numFailures).toBeGreaterThan(0);
    expect(rows().some((x) => (x.trial_id as number) % 3 === 1)).toBe(false);
  });
});
