import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finalValues } from '../src/plotting/aggregate.js';
import { bestTrials } from '../src/plotting/frame.js';
import { loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { readMetadata } from '../src/results/metadata.js';
import { readExperiment } from '../src/results/read.js';
import { learningCurvesSpec } from '../src/plotting/specs.js';
import { runSeed } from '../src/launchers/run-folder.js';
import { formatValue } from '../src/util/table.js';
import { cliPath, readRows, tempDir } from './helpers.js';

/**
 * A fast "training script": epoch e of 3 reports acc = 1 - (x - 0.3)² - 0.05·(e - 2)², so every
 * trial peaks at epoch 2 and ends lower at epoch 3 (the best at any epoch is not the last value).
 */
function ownProblem(dir: string, body: Record<string, unknown> = {}): string {
  writeFileSync(
    join(dir, 'train.py'),
    `import json, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x = float(args['--x'])
for e in range(1, 4):
    print('[tunelab] ' + json.dumps({'epoch': e, 'acc': 1 - (x - 0.3) ** 2 - 0.05 * (e - 2) ** 2}), flush=True)
`,
  );
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'own',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'acc', objective: 'maximize' }],
      command: ['python3', 'train.py'],
      resource: { name: 'epoch', max: 3 },
      method: 'RS',
      budget: { max_trials: 4 },
      parallel_bandwidth: 2,
      random_seed: 5,
      ...body,
    }),
  );
  return file;
}

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

const folders = (root: string, tag: string) => readdirSync(join(root, tag)).sort().map((n) => join(root, tag, n));

describe('rows of real trials', () => {
  it('a trial that reaches the maximum resource is completed in results.csv.gz; its earlier rows are running', () => {
    const dir = tempDir();
    const root = tempDir();
    const r = cli(['run', '-f', ownProblem(dir), '--results_root', root]);
    expect(r.status).toBe(0);
    const rows = readRows(join(folders(root, 'own')[0], 'results.csv.gz'));
    expect(rows).toHaveLength(12);
    for (const row of rows) expect([row.trial_id, row.epoch, row.st_status]).toEqual([row.trial_id, row.epoch, row.epoch === 3 ? 'completed' : 'running']);
  });

  // the config comes as `--x <value>` ($2); the exit of a trial that ends cleanly may reach the tuner with its last report or after it: its end must not depend on which
  const endsEarly = { name: 'early', resource: { name: 'epoch', max: 10 }, command: ['sh', '-c', 'for e in 1 2 3; do echo "[tunelab] {\\"epoch\\": $e, \\"acc\\": $2}"; done', 'sh'] };
  const noResource = { name: 'once', resource: undefined, command: ['sh', '-c', 'echo "[tunelab] {\\"acc\\": $2}"', 'sh'] };
  for (const [what, body] of [['exits with 0 at epoch 3 of 10', endsEarly], ['has no resource and reports once', noResource]] as const) {
    it(`a trial that ${what} is completed in status, trials, best, the learning curves' legend and readExperiment, every time`, () => {
      const dir = tempDir();
      const root = tempDir();
      const file = join(dir, 'experiment.json');
      writeFileSync(
        file,
        JSON.stringify({
          parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
          metrics: [{ name: 'acc', objective: 'maximize' }],
          method: 'RS',
          budget: { max_trials: 4 },
          parallel_bandwidth: 2,
          random_seed: 5,
          ...body,
        }),
      );
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = cli(['run', '-f', file, '--results_root', root]);
        expect(r.status, r.stderr).toBe(0);
        const folder = folders(root, body.name)[attempt];
        const status = JSON.parse(cli(['status', folder, '--json']).stdout);
        expect(status.trials, `attempt ${attempt}`).toEqual({ total: 4, running: 0, paused: 0, completed: 4, stopped: 0, failed: 0 });
        const trials = JSON.parse(cli(['trials', folder, '--json']).stdout) as { state: string }[];
        expect(trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
        const best = JSON.parse(cli(['best', folder, '--json']).stdout);
        expect([best.ended, best.finalResource]).toEqual(['completed', true]);
        const read = readExperiment(folder);
        expect([...read.trialEnds].sort((a, b) => a[0] - b[0])).toEqual([0, 1, 2, 3].map((id) => [id, 'completed']));
        const attr = body.resource ? 'epoch' : read.metadata.resource_attr;
        const curves = learningCurvesSpec('lc', attr, 'acc', read.rows, { trialEnds: read.trialEnds }) as unknown as { data: { values: { ended: string }[] } };
        expect(new Set(curves.data.values.map((v) => v.ended))).toEqual(new Set(['completed']));
      }
    });
  }
});

/** Each trial's value by the rule, from the rows themselves: its last row, or its best row. */
function expectedBest(rows: Record<string, string | number | null>[], rule: 'last' | 'any') {
  const value = new Map<number, { acc: number; epoch: number }>();
  for (const r of rows) {
    const id = Number(r.trial_id);
    const held = value.get(id);
    if (rule === 'last' || !held || (r.acc as number) > held.acc) value.set(id, { acc: r.acc as number, epoch: r.epoch as number });
  }
  const [trialId, best] = [...value].reduce((a, b) => (b[1].acc > a[1].acc ? b : a));
  return { trialId, ...best };
}

describe('one meaning of best', () => {
  for (const rule of ['last', 'any'] as const) {
    it(`best: ${rule} — run's summary, best, status, plot, the notebook API, and a study's best and export give one answer`, async () => {
      const dir = tempDir();
      const root = tempDir();
      const file = ownProblem(dir, rule === 'any' ? { best: 'any' } : {});
      const run = cli(['run', '-f', file, '--results_root', root]);
      expect(run.status).toBe(0);
      const folder = folders(root, 'own')[0];
      expect(readMetadata(folder).best).toBe(rule);
      const want = expectedBest(readRows(join(folder, 'results.csv.gz')), rule);
      // every trial peaks at epoch 2: the last report (epoch 3) and the best one differ
      expect(want.epoch).toBe(rule === 'last' ? 3 : 2);
      expect(run.stdout).toContain(`best acc ${formatValue(want.acc)} (trial ${want.trialId}:`);
      const best = JSON.parse(cli(['best', folder, '--json']).stdout);
      expect([best.trialId, best.value, best.resource, best.rule]).toEqual([want.trialId, want.acc, want.epoch, rule]);
      expect(cli(['best', folder]).stdout).toContain(rule === 'last' ? "a trial's value is its last report" : 'the best report at any resource');
      const status = JSON.parse(cli(['status', folder, '--json']).stdout);
      expect([status.best.trialId, status.best.value]).toEqual([want.trialId, want.acc]);
      // the notebook API and the plot's final table
      const { runs } = await loadResults({ tags: ['own'], root, warn: () => {} });
      expect(bestTrials(runs).map((t) => [t.trialId, t.value])).toEqual([[want.trialId, want.acc]]);
      expect(finalValues(runs)[0].iqm).toBe(want.acc);
      const out = tempDir();
      const plot = cli(['plot', '--experiment_tag', 'own', '--results_root', root, '--out', out, '--format', 'svg']);
      expect(plot.status).toBe(0);
      const [header, values] = readFileSync(join(out, 'final-table.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
      expect(Number(values[header.indexOf('own_iqm')])).toBe(want.acc);

      // the same file as a study: the worker tells each trial's value by the rule; best and export agree
      const storage = `sqlite:${join(dir, 'studies.db')}`;
      expect(cli(['study', 'create', '-f', file, '--storage', storage]).status).toBe(0);
      expect(cli(['study', 'worker', '1', '--storage', storage]).status).toBe(0);
      const studyBest = JSON.parse(cli(['study', 'best', '1', '--storage', storage, '--json']).stdout);
      const exportRoot = tempDir();
      expect(cli(['study', 'export', '1', '--storage', storage, '--out', exportRoot]).status).toBe(0);
      const exported = folders(exportRoot, 'own')[0];
      const studyWant = expectedBest(readRows(join(exported, 'results.csv.gz')), rule);
      expect([studyBest.suggestionId, studyBest.value]).toEqual([studyWant.trialId, studyWant.acc]);
      const exportedBest = JSON.parse(cli(['best', exported, '--json']).stdout);
      expect([exportedBest.trialId, exportedBest.value, exportedBest.rule]).toEqual([studyWant.trialId, studyWant.acc, rule]);
    });
  }
});

describe('a tag of several runs', () => {
  it('best, status, logs and trials on a tag with a failed and a completed run list both and answer with the completed one', () => {
    const dir = tempDir();
    const root = tempDir();
    expect(cli(['run', '-f', ownProblem(dir), '--results_root', root]).status).toBe(0);
    const completed = folders(root, 'own')[0];
    // the same problem again, whose script now crashes: the newer run fails
    const broken = cli(['run', '-f', ownProblem(dir, { command: ['python3', '-c', 'import sys; sys.exit(3)'], max_failures: 0 }), '--results_root', root]);
    expect(broken.status).toBe(1);
    const failed = folders(root, 'own').find((f) => f !== completed)!;
    expect(readMetadata(failed).status).toBe('failed');

    const best = cli(['best', 'own', '--results_root', root, '--json']);
    expect(best.status).toBe(0);
    const answer = JSON.parse(best.stdout);
    const want = JSON.parse(cli(['best', completed, '--json']).stdout);
    expect(answer).toMatchObject({ folder: completed, trialId: want.trialId, value: want.value, method: 'RS', seed: 0, over: [completed] });
    // the runs are listed with method, seed, state and best, and the choice is said
    expect(best.stderr).toMatch(new RegExp(`${failed.split('/').pop()} +RS +0 +failed +-`));
    expect(best.stderr).toMatch(new RegExp(`${completed.split('/').pop()} +RS +0 +completed +acc=`));
    expect(best.stderr).toContain(`best of the tag on own, over its 1 completed run(s) of 2 (left out: ${failed.split('/').pop()} failed): ${completed}`);

    const status = cli(['status', 'own', '--results_root', root]);
    expect(status.stdout).toContain(`best of the tag on own, over its 1 completed run(s) of 2`);
    expect(status.stdout).toContain(`trial ${want.trialId}: acc = ${formatValue(want.value)}`);
    expect(JSON.parse(cli(['status', 'own', '--results_root', root, '--json']).stdout).best[0].folder).toBe(completed);

    const logs = cli(['logs', 'own', '--results_root', root, '--trial', '0']);
    expect(logs.stderr).toContain('the logs of the 1 completed run(s) of 2');
    expect(logs.stdout).toContain(`== ${completed} (RS, seed 0, completed) ==`);
    expect(logs.stdout).not.toContain(failed);
    expect(logs.stdout).toContain('[tunelab] {"epoch": 3');

    // trials on the tag: each run's trials under its folder, method, seed and state, newest run first
    const trials = cli(['trials', 'own', '--results_root', root, '--json']);
    expect(trials.status, trials.stderr).toBe(0);
    const listed = JSON.parse(trials.stdout) as { tag: string; runs: { folder: string; method: string; seed: number; state: string; trials: { trialId: number; state: string }[] }[] };
    expect(listed.tag).toBe('own');
    expect(listed.runs.map((r) => [r.folder, r.method, r.seed, r.state])).toEqual([
      [failed, 'RS', 0, 'failed'],
      [completed, 'RS', 0, 'completed'],
    ]);
    expect(listed.runs[1].trials).toEqual(JSON.parse(cli(['trials', completed, '--json']).stdout));
    expect(listed.runs[1].trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(listed.runs[0].trials.map((t) => t.state)).toContain('failed');
    const text = cli(['trials', 'own', '--results_root', root, '--state', 'completed']).stdout;
    expect(text).toContain(`== ${failed} (RS, seed 0, failed): 0 trial(s) ==`);
    expect(text).toContain(`== ${completed} (RS, seed 0, completed): 4 trial(s) ==`);
    expect(text.indexOf(failed)).toBeLessThan(text.indexOf(completed));
    expect(text).toMatch(/trial +state +acc +resource +worker +config/);
  });
});

describe('a study of your own script', () => {
  it('run -f --method BO ASHA --num_seeds 3: every method × seed with hpo-main\'s layout and seeds; plot sees 2 setups × 3 seeds; --resume skips what completed', async () => {
    const dir = tempDir();
    const root = tempDir();
    const file = ownProblem(dir, { command: ['python3', 'missing.py'] });
    // the command line's command and budget win over the file's
    const args = ['run', '-f', file, '--method', 'BO', 'asha', '--num_seeds', '3', '--random_seed', '7', '--max_trials', '2', '--results_root', root, '--experiment_tag', 'cmp', '--', 'python3', 'train.py'];
    const r = cli(args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('random_seed 7; running 6 experiment(s): methods BO, ASHA × seeds 0, 1, 2 on own');
    const { runs } = await loadResults({ tags: ['cmp'], root, warn: () => {} });
    expect(runs.map((x) => [x.setup, x.benchmark, x.seed])).toEqual([0, 1, 2].flatMap((s) => [['ASHA', 'own', s]]).concat([0, 1, 2].map((s) => ['BO', 'own', s])));
    for (const x of runs) {
      expect(x.metadata).toMatchObject({ random_seed: 7, run_seed: runSeed(7, x.seed), status: 'completed', budget: { max_trials: 2 } });
      expect(x.folder.split('/').pop()).toMatch(new RegExp(`^cmp-own-${x.seed}-\\d{4}-`));
      expect(new Set(readRows(join(x.folder, 'results.csv.gz')).map((row) => row.trial_id)).size).toBe(2);
    }
    // seed i's stream depends on (master, i) alone: the seeds differ, and a rerun of seed 1 alone repeats its configs
    const configs = (folder: string) => readRows(join(folder, 'results.csv.gz')).filter((row) => row.epoch === 1).map((row) => row.config_x as number).sort();
    const bo = runs.filter((x) => x.setup === 'BO');
    expect(configs(bo[0].folder)).not.toEqual(configs(bo[1].folder));
    const again = tempDir();
    expect(cli(['run', '-f', file, '--method', 'BO', '--num_seeds', '2', '--start_seed', '1', '--random_seed', '7', '--max_trials', '2', '--results_root', again, '--experiment_tag', 'cmp', '--', 'python3', 'train.py']).status).toBe(0);
    expect(configs(folders(again, 'cmp')[0])).toEqual(configs(bo[1].folder));
    const resumed = cli([...args.slice(0, -3), '--resume', '--', 'python3', 'train.py'].filter((a) => a !== '--random_seed' && a !== '7'));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('random_seed 7;');
    expect(resumed.stdout.match(/seed \d: completed, already completed/g)).toHaveLength(6);
    expect(folders(root, 'cmp')).toHaveLength(6);
  });
});

describe('plots of one run', () => {
  it('a one-seed tag: an optimization history of the trials on a linear axis over wall-clock seconds; no rank or regret panel; --log_y asks for log', async () => {
    const dir = tempDir();
    const root = tempDir();
    expect(cli(['run', '-f', ownProblem(dir), '--results_root', root]).status).toBe(0);
    const { specs, files } = await plotStudy({ tags: ['own'], root, out: tempDir(), formats: ['svg'], warn: () => {} });
    expect(specs.map((s) => s.name)).toEqual(['history-own']);
    expect(files.some((f) => /rank|regret/.test(f))).toBe(false);
    const spec = JSON.stringify(specs[0].spec);
    expect(spec).toContain('"title":"wall-clock time (s)"');
    expect(spec).toContain('"type":"linear"');
    expect(spec).not.toContain('"type":"log"');
    // each trial's value (its last report) is a point: 4 trials
    const layers = (specs[0].spec as unknown as { layer: { data: { values: { value?: number; best?: number }[] } }[] }).layer;
    expect(layers[0].data.values).toHaveLength(4);
    const { runs } = await loadResults({ tags: ['own'], root, warn: () => {} });
    expect(layers[1].data.values.at(-1)!.best).toBe(Math.max(...runs[0].values));
    const logged = await plotStudy({ tags: ['own'], root, out: tempDir(), formats: ['svg'], logY: true, warn: () => {} });
    expect(JSON.stringify(logged.specs[0].spec)).toContain('"type":"log"');
  });
});
