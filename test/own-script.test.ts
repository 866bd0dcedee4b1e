import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
