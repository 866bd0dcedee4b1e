import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DashboardData } from '../src/dashboard/sources.js';
import { bestOfStudy } from '../src/study/status.js';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { tempDir } from './helpers.js';

/** More than two of the feed's pages of 5,000 rows (its first read of a study is paged). */
const N = 11_000;
const storage = join(tempDir('tunelab-dashboard-feed-'), 'studies.db');
const loss = (c: Record<string, unknown>) => (Number(c.a) - 0.3) ** 2 + 0.1 * Number(c.b);

describe('the dashboard reading a big study', () => {
  const opened: DashboardData[] = [];
  afterAll(async () => {
    for (const d of opened) await d.close();
  });

  it('reads it in pages: every trial once, every observation on its trial, the best `study best` gives; then only what is added', async () => {
    const study = await createStudy({ name: 'big', parameters: [{ name: 'a', type: 'double', bounds: { min: 0, max: 1 } }, { name: 'b', type: 'int', bounds: { min: 0, max: 9 } }], metrics: [{ name: 'loss', objective: 'minimize' }], method: 'RS', budget: { max_trials: N + 10 }, random_seed: 3 }, { storage, name: 'big' });
    let next = await study.ask();
    for (let i = 0; i < N && next; i++) next = (await study.tellAndAsk(next.suggestionId, loss(next.config))).next;
    // one suggestion left open (asked, not told)
    const data = await DashboardData.open([storage], undefined);
    opened.push(data);
    const feed = (await data.feed(0, study.id))!;
    const snap = await feed.snapshot();
    expect(snap.trials.length).toBe(N + 1);
    expect(new Set(snap.trials.map((t) => t.id)).size).toBe(N + 1);
    const store = await openStore(storage);
    const observations = await store.listObservations(study.id);
    await store.close();
    const observed = snap.trials.filter((t) => t.observedAt !== null);
    expect(observed.length).toBe(N);
    expect(feed.observedCount()).toBe(N);
    const byTrial = new Map(observations.map((o) => [o.suggestionId, o.value]));
    for (const t of observed) expect(t.value).toBe(byTrial.get(t.id));
    expect(snap.trials.filter((t) => t.state === 'open').map((t) => t.id)).toEqual([next!.suggestionId]);
    const best = (await bestOfStudy(study))!;
    expect(snap.head.best).toMatchObject({ suggestionId: best.suggestionId, value: best.value });
    // the page's first data in parts of 5,000: every trial once, the last part marked
    const parts = [...feed.snapshotParts(5000)];
    expect(parts.map((p) => p.trials.length)).toEqual([5000, 5000, N + 1 - 10_000]);
    expect(parts.map((p) => p.part.last)).toEqual([false, false, true]);
    // then a tick brings only the new observation
    await study.tell(next!.suggestionId, loss(next!.config));
    const update = (await feed.tick())!;
    expect(update.trials.map((t) => [t.id, t.state])).toEqual([[next!.suggestionId, 'completed']]);
    expect(update.fleet.budget.done).toBe(N + 1);
    expect(feed.observedCount()).toBe(feed.observed().length);
    expect(feed.observedCount()).toBe(N + 1);
    await study.close();
  }, 120_000);
});
