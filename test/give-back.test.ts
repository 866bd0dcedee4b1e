import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { cliPath, tempDir } from './helpers.js';
import { startProcess, until } from './study-helpers.js';

/**
 * Slurm's time-limit notice (USR1) or a scancel (TERM) ends a worker mid-trial: it gives the
 * suggestion back, and whichever worker asks next continues that trial under the same id, from the
 * same checkpoint folder (keyed by study and suggestion, shared by the workers), at the next epoch.
 */

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

for (const signal of ['SIGUSR1', 'SIGTERM'] as const) {
  it(`a trial given back on ${signal} continues at its next epoch under another worker`, async () => {
    const root = tempDir('tunelab-give-back-');
    const storage = join(root, 'studies.db');
    const file = join(root, 'give-back.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'give-back',
        parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
        metrics: [{ name: 'loss', objective: 'minimize' }],
        command: ['/bin/sh', join(import.meta.dirname, 'fixtures', 'checkpointing-trial.sh')],
        env: { EPOCHS: '8', STEP: '0.3' },
        resource: { name: 'epoch', max: 8 },
        method: 'RS',
        budget: { max_trials: 1 },
        parallel_bandwidth: 1,
      }),
    );
    const study = await createStudy(file, { storage });
    const studyCreated = study.createdSeconds;
    await study.close();
    const store = await openStore(storage);
    try {
      const first = startProcess(root, children, [cliPath, 'study', 'worker', String(study.id), '--storage', storage]);
      // mid-run: past epoch 2 of 8
      await until('the first worker to report epoch 2', async () => (await store.listReports(study.id)).some((r) => r.resource >= 2));
      first.child.kill(signal);
      // USR1 is a notice the worker acts on and ends cleanly; TERM ends it with 128 + 15
      expect(await first.exited).toBe(signal === 'SIGUSR1' ? 0 : 143);
      const [s] = await store.listSuggestions(study.id);
      expect(s.state).toBe('ready');
      // the study's folder, keyed by the study (id, name, creation) and the suggestion, not by the worker
      const folder = new RegExp(`trial ${s.id}: given back \\(${signal}\\); the next worker continues it from (.*)`).exec(first.out.stdout)?.[1];
      expect(folder).toBe(join(root, 'results', '.study-workers', `${study.id}-give-back`, 'checkpoints', String(studyCreated), String(s.id)));
      const checkpoint = join(folder!, 'epoch');
      const saved = Number(readFileSync(checkpoint, 'utf8'));
      const before = await store.listReports(study.id);
      expect(before.map((r) => r.resource)).toEqual(Array.from({ length: before.length }, (_, i) => i + 1));

      const second = startProcess(root, children, [cliPath, 'study', 'worker', String(study.id), '--storage', storage]);
      expect(await second.exited).toBe(0);
      expect(second.out.stderr).toBe('');
      const reports = await store.listReports(study.id);
      const firstWorker = before[0].workerId;
      const after = reports.filter((r) => r.workerId !== firstWorker);
      // the second worker went on where the checkpoint was, never from epoch 1, up to 8; the script
      // reports an epoch before it saves it, so a stop between the two has that one epoch reported again
      expect(after[0].resource).toBe(saved + 1);
      expect(saved).toBeGreaterThanOrEqual(before.length - 1);
      expect(after.map((r) => r.resource)).toEqual(Array.from({ length: 8 - saved }, (_, i) => saved + 1 + i));
      const [done] = await store.listSuggestions(study.id);
      expect({ id: done.id, state: done.state, attempts: done.attempts }).toEqual({ id: s.id, state: 'completed', attempts: 2 });
      expect((await store.listObservations(study.id)).map((o) => [o.suggestionId, o.failed])).toEqual([[s.id, false]]);
      expect(existsSync(checkpoint)).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
}
