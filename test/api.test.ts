import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/experiment/load.js';
import { createStudy } from '../src/study/study.js';
import { cliPath, readRows, tempDir } from './helpers.js';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

/** A script whose value is 1 - (x - 0.3)², reported once (no resource). */
function problem(dir: string, body: Record<string, unknown> = {}): string {
  writeFileSync(join(dir, 'f.py'), `import json, sys\nx = float(dict(zip(sys.argv[1::2], sys.argv[2::2]))['--x'])\nprint('[tunelab] ' + json.dumps({'acc': 1 - (x - 0.3) ** 2}), flush=True)\n`);
  const file = join(dir, 'experiment.json');
  writeFileSync(file, JSON.stringify({ name: 'api', parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }, { name: 'k', type: 'int', value: 3 }], metrics: [{ name: 'acc', objective: 'maximize' }], command: ['python3', 'f.py'], method: 'RS', budget: { max_trials: 4 }, random_seed: 2, ...body }));
  return file;
}

describe('the JS API and the file', () => {
  it('points_to_evaluate are the first trials, in order; a point outside the space is named', async () => {
    const dir = tempDir();
    const root = tempDir();
    const file = problem(dir, { points_to_evaluate: [{ x: 0.3 }, { x: 0.9 }] });
    expect(cli(['run', '-f', file, '--results_root', root]).status).toBe(0);
    const [name] = readdirSync(join(root, 'api'));
    const rows = readRows(join(root, 'api', name, 'results.csv.gz'));
    const byTrial = new Map(rows.map((r) => [r.trial_id, r]));
    expect([byTrial.get(0)!.config_x, byTrial.get(0)!.config_k, byTrial.get(1)!.config_x]).toEqual([0.3, 3, 0.9]);
    expect(byTrial.size).toBe(4);
    await expect(loadExperiment({ ...JSON.parse(JSON.stringify({ name: 'a', parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'acc', objective: 'maximize' }], budget: { max_trials: 2 } })), points_to_evaluate: [{ x: 2 }, { y: 1 }] })).rejects.toThrow(
      /points_to_evaluate\[0\]: config value x=2 is outside .*\n {2}- points_to_evaluate\[1\]: unknown parameter 'y'/,
    );
  });

  it('loadExperiment takes a file or an object in one step; createStudy needs no command to evaluate in-process; run without one says where to give it', async () => {
    const definition = { name: 'in process', parameters: [{ name: 'x', type: 'float', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'y', objective: 'minimize' }], budget: 6, method: 'rs', random_seed: 1 };
    const d = await loadExperiment(definition);
    expect([d.name, d.method, d.budget.maxTrials, d.command]).toEqual(['in-process', 'RS', 6, undefined]);
    const study = await createStudy(definition, { storage: `sqlite:${join(tempDir(), 's.db')}` });
    try {
      const summary = await study.optimize((config) => ((config.x as number) - 0.5) ** 2);
      expect(summary.observations).toBe(6);
    } finally {
      await study.close();
    }
    const dir = tempDir();
    const file = join(dir, 'e.json');
    writeFileSync(file, JSON.stringify(definition));
    const r = cli(['run', '-f', file, '--results_root', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}: no command to run the trials with: add command: [...] to the file, or give it after --`);
  });

  it('tunelab trials lists config, value, state, resource and worker, of an experiment and of a study; --state filters', () => {
    const dir = tempDir();
    const root = tempDir();
    const file = problem(dir);
    expect(cli(['run', '-f', file, '--results_root', root]).status).toBe(0);
    const [name] = readdirSync(join(root, 'api'));
    const folder = join(root, 'api', name);
    const trials = JSON.parse(cli(['trials', folder, '--json']).stdout);
    const rows = readRows(join(folder, 'results.csv.gz'));
    expect(trials).toEqual(rows.map((r) => ({ trialId: r.trial_id, state: 'completed', value: r.acc, resource: 1, worker: '-', config: { x: r.config_x, k: 3 } })).sort((a, b) => Number(a.trialId) - Number(b.trialId)));
    const best = JSON.parse(cli(['best', folder, '--json']).stdout);
    expect(Math.max(...trials.map((t: { value: number }) => t.value))).toBe(best.value);
    expect(JSON.parse(cli(['trials', folder, '--json', '--state', 'failed']).stdout)).toEqual([]);
    expect(cli(['trials', folder]).stdout).toMatch(/trial +state +acc +resource +worker +config/);
    expect(cli(['trials', folder, '--state', 'done']).stderr).toContain("--state 'done' is not a trial state; states here: completed");
    // the same file as a study
    const storage = `sqlite:${join(dir, 's.db')}`;
    expect(cli(['study', 'create', '-f', file, '--storage', storage]).status).toBe(0);
    expect(cli(['study', 'worker', '1', '--storage', storage]).status).toBe(0);
    const studyTrials = JSON.parse(cli(['trials', '1', '--storage', storage, '--json']).stdout);
    expect(studyTrials).toHaveLength(4);
    for (const t of studyTrials) {
      expect(t).toMatchObject({ state: 'completed', value: 1 - (t.config.x - 0.3) ** 2, resource: 1, config: { k: 3 } });
      expect(t.worker).toMatch(/./);
    }
  });
});
