import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { cliPath, tempDir } from './helpers.js';

/** An ASHA study with every kind of row: suggestions, reports and rungs, observations, a worker, log lines. */
async function filledStudy(storage: string, name: string): Promise<number> {
  const file = join(tempDir(), `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name,
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize', strategy: 'optimize' }],
      method: 'ASHA',
      resource: { name: 'epoch', max: 9 },
      budget: { max_trials: 10 },
      parallel_bandwidth: 2,
    }),
  );
  const study = await createStudy(file, { storage });
  try {
    for (let i = 0; i < 3; i++) {
      const s = (await study.ask())!;
      await study.report(s.suggestionId, 1, s.config.x as number);
      await study.appendLogs([{ suggestionId: s.suggestionId, workerId: study.worker.workerId, stream: 'stdout', line: `trial ${i}`, time: Date.now() }]);
      await study.tell(s.suggestionId, { loss: s.config.x as number });
    }
    await study.ask();
    await study.store.registerWorker(study.id, study.worker);
    return study.id;
  } finally {
    await study.close();
  }
}

/** Every row of a study, through the store's own reads. */
async function rowsOf(storage: string, id: number) {
  const store = await openStore(storage);
  try {
    const [study, suggestions, observations, reports, workers, logs] = await Promise.all([
      store.findStudy(String(id)),
      store.listSuggestions(id),
      store.listObservations(id),
      store.listReports(id),
      store.listWorkers(id),
      store.readLogs(id, 0, 1000),
    ]);
    return { study: study?.name, suggestions: suggestions.length, observations: observations.length, reports: reports.length, workers: workers.length, logs: logs.length };
  } finally {
    await store.close();
  }
}

const kinds: { kind: string; storage: () => string }[] = [];
let pg: LocalPostgres;
const sqlite = join(tempDir('tunelab-delete-'), 'studies.db');
kinds.push({ kind: 'SQLite', storage: () => sqlite }, { kind: 'PostgreSQL', storage: () => pg.url });

beforeAll(async () => {
  pg = await startLocalPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe.each(kinds)('deleting a study from $kind', ({ storage }) => {
  it('removes the study and every row of it in one step, and nothing of another study', async () => {
    const [gone, kept] = [await filledStudy(storage(), 'gone'), await filledStudy(storage(), 'kept')];
    const before = await rowsOf(storage(), kept);
    expect(before).toEqual({ study: 'kept', suggestions: 4, observations: 3, reports: 3, workers: 1, logs: 3 });
    const store = await openStore(storage());
    try {
      expect(await store.deleteStudy(gone)).toBe(true);
      expect(await store.deleteStudy(gone)).toBe(false);
    } finally {
      await store.close();
    }
    expect(await rowsOf(storage(), gone)).toEqual({ study: undefined, suggestions: 0, observations: 0, reports: 0, workers: 0, logs: 0 });
    expect(await rowsOf(storage(), kept)).toEqual(before);
    // the name is free again
    await filledStudy(storage(), 'gone');
  });

  it('a study deleted while a worker still writes log lines: deleted in one step, writes after it refused, nothing left behind', async () => {
    // workers keep flushing output after scancel; a delete between their inserts must neither fail nor leave rows behind
    const store = await openStore(storage());
    try {
      for (let round = 0; round < 4; round++) {
        const id = await filledStudy(storage(), `busy-${round}`);
        const suggestionId = (await store.listSuggestions(id))[0].id;
        const writer = await openStore(storage());
        let writes = 0;
        let refused: unknown;
        const writing = (async () => {
          for (;;) {
            try {
              await writer.appendLogs(id, [{ suggestionId, workerId: 'w', stream: 'stdout', line: `line ${writes}`, time: Date.now() }]);
              writes++;
            } catch (e) {
              refused = e;
              return;
            }
          }
        })();
        while (writes < 20) await new Promise((r) => setTimeout(r, 5));
        expect(await store.deleteStudy(id)).toBe(true);
        await writing;
        await writer.close();
        expect(String(refused)).toMatch(/foreign key|FOREIGN KEY/);
        expect(await rowsOf(storage(), id)).toEqual({ study: undefined, suggestions: 0, observations: 0, reports: 0, workers: 0, logs: 0 });
      }
    } finally {
      await store.close();
    }
  });

  it('tunelab study delete --data: the study is gone from the store and from study list; without --data it stays', async () => {
    const id = await filledStudy(storage(), 'by-cli');
    const env = { ...process.env, TUNELAB_ROOT: tempDir() };
    const keep = spawnSync(process.execPath, [cliPath, 'study', 'delete', 'by-cli', '--storage', storage()], { env, encoding: 'utf8' });
    expect(keep.status).toBe(0);
    expect(keep.stdout).toContain('no executor submission here');
    expect((await rowsOf(storage(), id)).study).toBe('by-cli');
    const del = spawnSync(process.execPath, [cliPath, 'study', 'delete', 'by-cli', '--data', '--storage', storage()], { env, encoding: 'utf8' });
    expect(del.stderr).toBe('');
    expect(del.status).toBe(0);
    expect(del.stdout).toMatch(/the study and its data removed from/);
    expect(await rowsOf(storage(), id)).toEqual({ study: undefined, suggestions: 0, observations: 0, reports: 0, workers: 0, logs: 0 });
    const list = spawnSync(process.execPath, [cliPath, 'study', 'list', '--storage', storage()], { env, encoding: 'utf8' });
    expect(list.stdout).not.toContain('by-cli');
  });
});
