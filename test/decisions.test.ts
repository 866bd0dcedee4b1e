import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniform } from '../src/config-space/index.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { type DecisionLine, readDecisions } from '../src/results/decisions.js';
import { HyperbandScheduler } from '../src/schedulers/hyperband.js';
import { RandomSearcher } from '../src/schedulers/searchers/random.js';
import type { SearchProblem } from '../src/schedulers/types.js';
import { StudyFeed } from '../src/dashboard/feed.js';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { createRng } from '../src/util/rng.js';
import { readRows, tempDir } from './helpers.js';
import { naiveRungs } from './rung-replay.js';

const quiet = { log: () => {}, progress: false };

async function simulate(method: string, resultsRoot = tempDir()) {
  const { outcomes } = await hpoMain({ experimentTag: 't', method: [method], benchmark: ['synthetic-fcnet'], randomSeed: 7, resultsRoot, maxWallclockTime: 300, nWorkers: 4 }, quiet);
  const o = outcomes[0];
  expect(o.metadata.status).toBe('completed');
  const s = o.metadata.scheduler as { rung_levels: number[]; reduction_factor: number; max_t: number };
  return { folder: o.folder, rows: readRows(join(o.folder, 'results.csv.gz')), decisions: readDecisions(o.folder), levels: s.rung_levels, eta: s.reduction_factor, maxT: s.max_t };
}

const reasonOf = (d: Pick<DecisionLine, 'level' | 'rank' | 'size' | 'keep' | 'threshold'>) => ({ level: d.level, rank: d.rank, size: d.size, keep: d.keep, threshold: d.threshold });

describe('the decisions a scheduler records, with their reasons', () => {
  it('ASHA on the simulator: decisions.jsonl holds each rung decision with the rung, rank, size and threshold an independent replay of results.csv.gz gives', async () => {
    const { rows, decisions, levels, eta, maxT } = await simulate('ASHA');
    // the results rows are in the order the scheduler saw them
    const calls = naiveRungs(rows.map((r, at) => ({ at, trial: Number(r.trial_id), resource: Number(r.epoch), value: Number(r.valid_loss) })), levels, eta, maxT);
    expect(calls.filter((c) => c.stop).length).toBeGreaterThan(10);
    expect(decisions.map((d) => ({ trial: d.trialId, value: d.value, ...reasonOf(d), stop: d.decision === 'stop' }))).toEqual(
      calls.map((c) => ({ trial: c.trial, value: c.value, level: c.level, rank: c.rank, size: c.size, keep: c.keep, threshold: c.threshold, stop: c.stop })),
    );
    // a stop in the file is the row that said stop, at the same tuner time
    for (const d of decisions.filter((x) => x.decision === 'stop')) {
      expect(rows.some((r) => r.trial_id === d.trialId && r.st_decision === 'stop' && r.st_tuner_time === d.time), `trial ${d.trialId}`).toBe(true);
    }
  });

  it('the results file is the same bytes as a run whose scheduler records no reasons', async () => {
    const withReasons = await simulate('ASHA');
    const saved = HyperbandScheduler.prototype.takeDecisions;
    try {
      (HyperbandScheduler.prototype as { takeDecisions?: unknown }).takeDecisions = undefined;
      const without = await simulate('ASHA');
      expect(readFileSync(join(without.folder, 'results.csv.gz')).equals(readFileSync(join(withReasons.folder, 'results.csv.gz')))).toBe(true);
      expect(without.decisions).toEqual([]);
    } finally {
      HyperbandScheduler.prototype.takeDecisions = saved;
    }
  });

  it('ASHA, promotion type: a pause and each promotion with the rank and ⌊n/η⌋ it was made on', async () => {
    const { rows, decisions, eta } = await simulate('ASHA-PROMOTION');
    const promotions = decisions.filter((d) => d.decision === 'promote');
    expect(promotions.length).toBeGreaterThan(5);
    for (const p of promotions) {
      expect(p.keep).toBe(Math.floor(p.size / eta));
      expect(p.rank).toBeLessThanOrEqual(p.keep);
      // it paused at that rung before, with that value, and its next result is past the rung
      expect(decisions.some((d) => d.trialId === p.trialId && d.decision === 'pause' && d.level === p.level && d.value === p.value && d.time <= p.time)).toBe(true);
      expect(rows.some((r) => r.trial_id === p.trialId && Number(r.epoch) > p.level)).toBe(true);
    }
  });

  it('synchronous Hyperband: when a rung completes, its best ⌊n/η⌋ are promoted and the others stopped, each with its rank', async () => {
    const { decisions } = await simulate('SYNC-HYPERBAND');
    const first = decisions.filter((d) => d.level === 1);
    expect(first.length).toBe(243);
    const sorted = [...first].sort((a, b) => a.value - b.value);
    expect(first.filter((d) => d.decision === 'promote').map((d) => d.trialId).sort()).toEqual(sorted.slice(0, 81).map((d) => d.trialId).sort());
    for (const d of first) expect(d).toMatchObject({ size: 243, keep: 81, threshold: sorted[80].value, rank: sorted.findIndex((s) => s.value === d.value) + 1 });
  });

  it('HyperbandScheduler: the reason of a value that ties the threshold, in max mode', () => {
    const problem: SearchProblem = { configSpace: { x: uniform(0, 1) }, metric: 'acc', mode: 'max', rng: createRng(1) };
    const s = new HyperbandScheduler(problem, new RandomSearcher(problem), { type: 'stopping', maxT: 9 });
    const values = [0.5, 0.7, 0.7, 0.2];
    values.forEach((_, i) => s.suggest(i));
    const got = values.map((acc, i) => [s.onTrialResult(i, { resource: 1, metrics: { acc } }), s.takeDecisions()]);
    expect(got).toEqual([
      ['continue', [{ trialId: 0, value: 0.5, level: 1, rank: 1, size: 1, keep: 1, threshold: 0.5, decision: 'continue' }]],
      ['continue', [{ trialId: 1, value: 0.7, level: 1, rank: 1, size: 2, keep: 1, threshold: 0.7, decision: 'continue' }]],
      // ties share the better rank: 0.7 matches the threshold and goes on
      ['continue', [{ trialId: 2, value: 0.7, level: 1, rank: 1, size: 3, keep: 1, threshold: 0.7, decision: 'continue' }]],
      ['stop', [{ trialId: 3, value: 0.2, level: 1, rank: 4, size: 4, keep: 2, threshold: 0.7, decision: 'stop' }]],
    ]);
    expect(s.takeDecisions()).toEqual([]);
  });
});

/** ASHA across two in-process workers on a store; returns the store's reports. */
async function ashaOnStore(storage: string) {
  const study = await createStudy(
    {
      name: 'asha',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'acc', objective: 'maximize' }],
      method: 'ASHA',
      resource: { name: 'epoch', max: 9 },
      budget: { max_trials: 24 },
      parallel_bandwidth: 2,
      random_seed: 5,
    },
    { storage, name: 'asha' },
  );
  await study.optimize(
    async (c, t) => {
      let v = 0;
      for (let e = 1; e <= 9; e++) {
        // a sparse fidelity now and then: a report past two rungs at once
        if (Number(c.x) > 0.8 && e < 3) continue;
        v = Number(c.x) - 1 / e;
        if ((await t.report(e, v)) === 'stop') break;
      }
      return { acc: v };
    },
    { workers: 2 },
  );
  const id = study.id;
  await study.close();
  return id;
}

/** Every report's recorded reason is the replay's call for its deciding rung (the first that stopped it, else its last). */
async function expectRecordedAsReplayed(storage: string, studyId: number) {
  const store = await openStore(storage);
  try {
    const reports = await store.listReports(studyId);
    const calls = naiveRungs(reports.map((r) => ({ at: r.id, trial: r.suggestionId, resource: r.resource, value: r.value })), [1, 3], 3, 9, 'max');
    expect(calls.filter((c) => c.stop).length).toBeGreaterThan(3);
    for (const r of reports) {
      const mine = calls.filter((c) => c.at === r.id);
      const deciding = mine.find((c) => c.stop) ?? mine[mine.length - 1];
      expect(r.reason, `report ${r.id}`).toEqual(deciding ? { level: deciding.level, rank: deciding.rank, size: deciding.size, keep: deciding.keep, threshold: deciding.threshold, decision: deciding.stop ? 'stop' : 'continue' } : null);
    }
    return reports;
  } finally {
    await store.close();
  }
}

describe('the study store records why ASHA decided each report', () => {
  it('SQLite: the reason is the independent replay; a store whose reports predate reasons falls back to the replay on the dashboard', async () => {
    const storage = join(tempDir(), 'asha.db');
    const id = await ashaOnStore(storage);
    const reports = await expectRecordedAsReplayed(storage, id);
    const feedCalls = async () => {
      const store = await openStore(storage, { readOnly: true });
      try {
        const record = (await store.findStudy(String(id)))!;
        return (await new StudyFeed(0, store, record).snapshot()).calls;
      } finally {
        await store.close();
      }
    };
    const recorded = await feedCalls();
    expect(recorded.filter((c) => reports.find((r) => r.id === c.reportId)!.reason?.level === c.level).every((c) => c.source === 'recorded')).toBe(true);
    // as a store migrated from before: the columns there, every value NULL
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(storage);
    db.prepare('UPDATE reports SET rung_level = NULL, rung_rank = NULL, rung_size = NULL, rung_keep = NULL, rung_threshold = NULL').run();
    db.close();
    const replayed = await feedCalls();
    expect(replayed.every((c) => c.source === 'replayed')).toBe(true);
    expect(replayed.map(({ source: _, ...c }) => c)).toEqual(recorded.map(({ source: _, ...c }) => c));
  });

  it('PostgreSQL: the reason is the independent replay', async () => {
    const { startLocalPostgres } = await import('../src/study/storage/local-postgres.js');
    const pg = await startLocalPostgres();
    try {
      const id = await ashaOnStore(pg.url);
      await expectRecordedAsReplayed(pg.url, id);
    } finally {
      await pg.stop();
    }
  }, 120_000);
});
