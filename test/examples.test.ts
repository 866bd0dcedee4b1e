import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

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
  });
});
