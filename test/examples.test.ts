import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMetadata } from '../src/results/metadata.js';
import { readRows, tempDir } from './helpers.js';

const distExample = (name: string) => join(import.meta.dirname, '..', 'dist', 'examples', name);

describe('examples', () => {
  it('main-study (npm start) runs RS and ASHA × 3 seeds and prints the best metric per method', () => {
    const root = tempDir();
    const r = spawnSync(process.execPath, [distExample('main-study.js')], { encoding: 'utf8', env: { ...process.env, TUNELAB_ROOT: root } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/best \S+ \((min|max)\) per method on \S+, over seeds 0, 1, 2:/);
    expect(r.stdout).toMatch(/\nRS\s+3\s+[\d.]+/);
    expect(r.stdout).toMatch(/\nASHA\s+3\s+[\d.]+/);
    expect(readdirSync(join(root, 'main-study'))).toHaveLength(6);
    const png = /figures: (\S+\.png)/.exec(r.stdout)![1];
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    const report = /report: (\S+\.html)/.exec(r.stdout)![1];
    expect(readFileSync(report, 'utf8')).toMatch(/<h1>tunelab study: main-study<\/h1>/);
  });

  it('custom-methods runs its own methods with an extra results column', () => {
    const root = tempDir();
    const r = spawnSync(process.execPath, [distExample('custom-methods.js')], { encoding: 'utf8', env: { ...process.env, TUNELAB_ROOT: root, MAX_TIME: '600' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ASHA-BS64 seed 1: best [\d.]+ \(\d+ trials\)/);
    const folders = readdirSync(join(root, 'custom-methods')).map((f) => join(root, 'custom-methods', f));
    expect(folders).toHaveLength(4);
    const bs64 = folders.filter((f) => readMetadata(f).method === 'ASHA-BS64');
    for (const f of bs64) {
      const rows = readRows(join(f, 'results.csv.gz'));
      expect(rows.every((row) => row.config_hp_batch_size === 64)).toBe(true);
      expect(rows[rows.length - 1].num_at_level1).toBe(new Set(rows.map((row) => row.trial_id)).size);
    }
  });

  it('tuner-api runs ASHA promotion through the building blocks', () => {
    const r = spawnSync(process.execPath, [distExample('tuner-api.js')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const m = /(\d+) trials, (\d+) promotions, \d+ results in 1200 simulated s/.exec(r.stdout)!;
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/rungs: 2:\d+ 6:\d+ 18:\d+/);
  });

  it('build-blackbox tabulates fcnet on iris and ASHA tunes on the table', () => {
    const root = tempDir();
    const r = spawnSync(process.execPath, [distExample('build-blackbox.js')], { encoding: 'utf8', env: { ...process.env, TUNELAB_ROOT: root } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/built \S+: 40 configs × 2 seeds × 9 epochs/);
    expect(readdirSync(join(root, 'fcnet-iris')).sort()).toEqual(['configs.json.gz', 'meta.json', 'objectives.f32.gz']);
    const m = /ASHA: (\d+) trials, (\d+) results in [\d.]+ simulated s; best valid_loss ([\d.]+)/.exec(r.stdout)!;
    expect(Number(m[1])).toBe(30);
    // ASHA stopped most trials early: far fewer results than 30 full 9-epoch runs
    expect(Number(m[2])).toBeLessThan(0.6 * 30 * 9);
    // iris is easy: the best trial's validation loss is far below log(3), the loss of a uniform guess
    expect(Number(m[3])).toBeLessThan(0.5 * Math.log(3));
  });

  it('reference-study: the eight methods, and rung sizes as extra results', () => {
    const root = tempDir();
    const r = spawnSync(
      process.execPath,
      [distExample('reference-study/hpo-main.js'), '--experiment_tag', 'docs-2-debug', '--random_seed', '2465497701', '--method', 'RS', 'MOBSTER-RELU', '--results_root', root],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const folders = readdirSync(join(root, 'docs-2-debug')).map((f) => join(root, 'docs-2-debug', f));
    for (const f of folders) {
      const rows = readRows(join(f, 'results.csv.gz'));
      expect(Object.keys(rows[0]).slice(-5)).toEqual(['num_at_level1', 'num_at_level3', 'num_at_level9', 'num_at_level27', 'num_at_level81']);
      if (readMetadata(f).method === 'RS') expect(rows.every((row) => row.num_at_level1 === null)).toBe(true);
      else {
        expect(rows.every((row) => row.config_hp_activation_fn_1 === 'relu' && row.config_hp_activation_fn_2 === 'relu')).toBe(true);
        expect(rows[rows.length - 1].num_at_level1).toBe(new Set(rows.map((row) => row.trial_id)).size);
      }
    }
    const bad = spawnSync(process.execPath, [distExample('reference-study/hpo-main.js'), '--experiment_tag', 'x', '--method', 'ASHA-SIGMOID'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown method 'ASHA-SIGMOID'; valid methods: RS, BO, ASHA, MOBSTER, ASHA-TANH, MOBSTER-TANH, ASHA-RELU, MOBSTER-RELU/);
  });

  it('plot-study: the notebook API — arquero table, aggregation, a rendered figure', () => {
    const root = tempDir();
    const r = spawnSync(process.execPath, [distExample('plot-study.js')], { encoding: 'utf8', env: { ...process.env, TUNELAB_ROOT: root } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^18 runs, \d+ rows/m);
    expect(r.stdout).toMatch(/synthetic-mlp\s+HYPERBAND\s+\d+\s+\d/);
    expect(r.stdout).toMatch(/\| setup \| mean rank \| mean normalised regret \|/);
    const png = /figure: (\S+)/.exec(r.stdout)![1];
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    // one table of every results column: as many rows as the curves' table, the run's columns after the results'
    const [, rows, cols] = /^all columns: (\d+) rows × (\d+) columns: tag, setup, benchmark, seed, folder, trial_id, st_tuner_time, …$/m.exec(r.stdout)!;
    expect(rows).toBe(/^18 runs, (\d+) rows/m.exec(r.stdout)![1]);
    expect(Number(cols)).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/^highest epoch on synthetic-mlp: ASHA \d+, HYPERBAND \d+, RS \d+$/m);
    for (const setup of ['RS', 'ASHA', 'HYPERBAND']) expect(r.stdout).toMatch(new RegExp(`^best trial of ${setup} seed 0 on synthetic-branin: trial \\d+, value [\\d.]+, config x1=\\S+ x2=\\S+$`, 'm'));
  });
});
