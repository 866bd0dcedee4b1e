import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSpecifiers, layerViolations, ruleBroken } from './layers.js';

describe('floors of DESIGN.md §11', () => {
  it('no file in src/ imports across a floor', () => {
    const broken = layerViolations(resolve(import.meta.dirname, '../src')).map(
      (v) => `${v.file} imports '${v.imported}': ${v.rule}`,
    );
    expect(broken).toEqual([]);
  });

  it('reads static, type-only, re-exported and dynamic imports', () => {
    const source = [
      "import { a } from '../util/a.js';",
      "import type { B } from '../schedulers/types.js';",
      "export { c } from './c.js';",
      "export * from '../results/layout.js';",
      "const m = await import('../cloud/sync.js');",
      "import {\n  d,\n  e,\n} from '../launchers/methods.js';",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(
      [
        '../util/a.js',
        '../schedulers/types.js',
        './c.js',
        '../results/layout.js',
        '../cloud/sync.js',
        '../launchers/methods.js',
      ].sort(),
    );
  });

  it('names each kind of broken rule', () => {
    expect(ruleBroken('results', 'cloud')).toMatch(/results \(floor 2\) must not import cloud \(floor 6\)/);
    expect(ruleBroken('backends', 'schedulers')).toMatch(/backends ↛ schedulers: a backend executes/);
    expect(ruleBroken('study', 'launchers')).toMatch(/share floor 6/);
    expect(ruleBroken('study', 'operate')).toBeUndefined();
    expect(ruleBroken('commands', 'study')).toBeUndefined();
    expect(ruleBroken('newfolder', 'util')).toMatch(/'newfolder' has no floor/);
  });
});
