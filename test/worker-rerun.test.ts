import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { cliPath, tempDir } from './helpers.js';
import { startProcess, until } from './study-helpers.js';

/**
 * A suggestion handed back to a worker that had run it (issue 22: seen over HTTP after a server
 * outage longer than the lease, as `local backend: trial 38 exists already`): the worker lost it to
 * another worker, gave its run up, and got it back when that worker's lease ran out in turn. It
 * runs it again and goes on, rather than crashing.
 */

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

it('a worker runs a suggestion again that it lost and got back', async () => {
  const root = tempDir('tunelab-rerun-');
  const storage = join(root, 'studies.db');
  const gate = join(root, 'gate');
  const file = join(root, 'rerun.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'rerun',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      // each trial waits for the gate (the test opens it once the first run was given up)
      command: ['/bin/sh', '-c', `while [ ! -f '${gate}' ]; do sleep 0.1; done; echo '[tunelab] {"loss": 1}'`],
      method: 'RS',
      budget: { max_trials: 2 },
      // one slot: the worker can only wait for the suggestion it lost
      parallel_bandwidth: 1,
      study: { lease_seconds: 6 },
    }),
  );
  const study = await createStudy(file, { storage });
  await study.close();
  const w = startProcess(root, children, [cliPath, 'study', 'worker', String(study.id), '--storage', storage]);
  const store = await openStore(storage);
  try {
    let first: { id: number; workerId: string | null } | undefined;
    await until('the worker to hold a suggestion', async () => {
      first = (await store.listSuggestions(study.id, ['open']))[0];
      return first !== undefined;
    });
    // another worker takes it (as after an outage longer than the lease) and holds it 2 s without renewing
    const other = { workerId: 'other-worker', host: 'elsewhere', pid: 1 };
    const taken = await store.suggest(study.id, other, 2, { observation: 0, suggestion: 0 }, () => ({ claim: first!.id }));
    expect(taken.claimed?.workerId).toBe('other-worker');
    await until('the worker to give its run up', () => w.out.stdout.includes(`trial ${first!.id}: abandoned`) || w.child.exitCode !== null);
    writeFileSync(gate, '');
    const code = await w.exited;
    expect(w.out.stderr).toBe('');
    expect(code).toBe(0);
    const suggestions = await store.listSuggestions(study.id);
    const again = suggestions.find((s) => s.id === first!.id)!;
    // run by this worker, lost to the other, handed back to this worker and observed
    expect({ state: again.state, attempts: again.attempts, worker: again.workerId }).toEqual({ state: 'completed', attempts: 3, worker: first!.workerId });
    expect((await store.listObservations(study.id)).length).toBe(2);
    expect(w.out.stdout).toContain(`trial ${first!.id}: loss 1`);
  } finally {
    await store.close();
  }
}, 120_000);
