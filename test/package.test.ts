import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/util/errors.js';
import { gitCommit, gitCommitOf, importOptional, packageRoot, resolveOptional } from '../src/util/package-info.js';
import { tempDir } from './helpers.js';

// the pack-and-install round trip into an empty project is .ci/consumer-install (minutes: a real npm install)
const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(packageRoot, 'package-lock.json'), 'utf8'));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('the published package', () => {
  it('ships the built code, tables, Python helper, README and LICENSE; no tests, sources or source maps', () => {
    const [{ files }] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const paths: string[] = files.map((f: { path: string }) => f.path);
    for (const p of ['LICENSE', 'README.md', 'package.json', 'dist/src/cli.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/trial/report.js', 'python/tunelab_trial.py', 'benchmarks/data/fcnet/cars/meta.json']) {
      expect(paths, p).toContain(p);
    }
    expect(paths.filter((p) => p.startsWith('test/') || p.startsWith('src/') || p.startsWith('dist/test/') || p.startsWith('dist/bench/') || p.startsWith('examples/') || p.endsWith('.map'))).toEqual([]);
  });

  it('says its licence (with the Apache-2.0 text), repository, homepage, bugs and keywords', () => {
    expect(pkg.license).toBe('Apache-2.0');
    const licence = readFileSync(join(packageRoot, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(licence).toMatch(/END OF TERMS AND CONDITIONS/);
    expect(pkg.repository.url).toMatch(/^git\+https:\/\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/^https:\/\//);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['hyperparameter-optimization']));
  });

  it("pins @uwdata/flechette for its consumers (arquero 8's newest flechette needs a package the registry lacks)", () => {
    expect(pkg.overrides).toBeUndefined(); // root overrides never reach a consumer
    expect(pkg.dependencies['@uwdata/flechette']).toBe('2.6.0');
    expect(lock.packages['node_modules/@uwdata/flechette'].version).toBe('2.6.0');
    expect(Object.keys(lock.packages).filter((p) => p.endsWith('node_modules/@uwdata/wk-geojson'))).toEqual([]);
  });

  it('heavy packages for single features are optional peers (also dev dependencies, for the tests); ml-matrix is gone', () => {
    for (const p of ['onnxruntime-web', 'vega-datasets']) {
      expect(pkg.dependencies[p], p).toBeUndefined();
      expect(pkg.peerDependenciesMeta[p], p).toEqual({ optional: true });
      expect(pkg.devDependencies[p], p).toBe(pkg.peerDependencies[p]);
    }
    expect({ ...pkg.dependencies, ...pkg.devDependencies }['ml-matrix']).toBeUndefined();
  });

  it('every package the published .d.ts files import is a dependency, with its types', () => {
    const dts = readdirSync(join(packageRoot, 'dist', 'src'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.d.ts'));
    const imported = new Set<string>();
    for (const f of dts) {
      for (const m of readFileSync(join(packageRoot, 'dist', 'src', f), 'utf8').matchAll(/(?:from |import\()['"]([^.'"][^'"]*)['"]/g)) {
        if (!m[1].startsWith('node:')) imported.add(m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0]);
      }
    }
    expect(imported.size).toBeGreaterThan(3);
    for (const name of imported) {
      expect(pkg.dependencies[name], name).toBeDefined();
      const own = JSON.parse(readFileSync(join(packageRoot, 'node_modules', name, 'package.json'), 'utf8'));
      if (!own.types && !own.typings && !own.exports) expect(pkg.dependencies[`@types/${name}`], `@types/${name}`).toBeDefined();
    }
    expect(pkg.dependencies['@types/seedrandom']).toBeDefined();
  });
});

describe('optional packages', () => {
  it('a missing one is a UserError naming it and how to install it', async () => {
    await expect(importOptional('tunelab-no-such-package', 'this feature')).rejects.toThrow(new UserError("this feature needs the optional package 'tunelab-no-such-package', which is not installed: npm install tunelab-no-such-package"));
    expect(() => resolveOptional((p) => require.resolve(p), 'tunelab-no-such-package', 'that')).toThrow(/that needs the optional package 'tunelab-no-such-package'/);
    // a peer names its version range
    expect(() => resolveOptional(() => { throw Object.assign(new Error("Cannot find module 'vega-datasets'"), { code: 'MODULE_NOT_FOUND' }); }, 'vega-datasets', 'x')).toThrow(`npm install vega-datasets@${pkg.peerDependencies['vega-datasets']}`);
    // an installed one loads; another error passes on untouched
    expect(typeof (await importOptional<typeof import('onnxruntime-web')>('onnxruntime-web', 'x')).InferenceSession.create).toBe('function');
    expect(() => resolveOptional(() => { throw new Error('disk on fire'); }, 'vega-datasets', 'x')).toThrow('disk on fire');
  });
});

describe("tunelab's version and commit, not the host project's", () => {
  it('the commit only of a checkout whose top level is tunelab', () => {
    const host = tempDir();
    git(host, 'init', '-q');
    git(host, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'host');
    const inside = join(host, 'node_modules', 'tunelab');
    mkdirSync(inside, { recursive: true });
    expect(gitCommitOf(inside)).toBeNull();
    expect(gitCommitOf(host)).toBe(git(host, 'rev-parse', 'HEAD'));
    expect(gitCommitOf(tempDir())).toBeNull();
    if (existsSync(join(packageRoot, '.git'))) expect(gitCommit()).toBe(git(packageRoot, 'rev-parse', 'HEAD'));
    // read from the files, as git would: a branch in packed-refs, a detached HEAD, a worktree's .git file
    git(host, 'pack-refs', '--all');
    expect(gitCommitOf(host)).toBe(git(host, 'rev-parse', 'HEAD'));
    git(host, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'second');
    expect(gitCommitOf(host)).toBe(git(host, 'rev-parse', 'HEAD'));
    const tree = join(tempDir(), 'tree');
    git(host, 'worktree', 'add', '-q', '--detach', tree, 'HEAD~1');
    expect(gitCommitOf(tree)).toBe(git(tree, 'rev-parse', 'HEAD'));
    expect(gitCommitOf(tree)).not.toBe(gitCommitOf(host));
    git(tree, 'checkout', '-q', '-b', 'side');
    git(tree, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'on side');
    expect(gitCommitOf(tree)).toBe(git(tree, 'rev-parse', 'HEAD'));
  });

  it('installed in a host project with its own version and git repository: --version and metadata.json are tunelab’s', () => {
    const host = tempDir();
    writeFileSync(join(host, 'package.json'), JSON.stringify({ name: 'host', version: '9.9.9' }));
    git(host, 'init', '-q');
    git(host, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'host');
    const installed = join(host, 'node_modules', 'tunelab');
    mkdirSync(join(installed, 'dist'), { recursive: true });
    cpSync(join(packageRoot, 'dist', 'src'), join(installed, 'dist', 'src'), { recursive: true });
    cpSync(join(packageRoot, 'package.json'), join(installed, 'package.json'));
    // its dependencies as an install would place them (hoisted beside it)
    for (const dep of readdirSync(join(packageRoot, 'node_modules'))) if (dep !== '.bin') symlinkSync(join(packageRoot, 'node_modules', dep), join(host, 'node_modules', dep));
    const cli = join(installed, 'dist', 'src', 'cli.js');
    const version = spawnSync(process.execPath, [cli, '--version'], { cwd: host, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(pkg.version);
    const root = tempDir();
    const r = spawnSync(process.execPath, [cli, 'hpo-main', '--experiment_tag', 'h', '--method', 'RS', '--benchmark', 'synthetic-branin', '--max_wallclock_time', '100', '--random_seed', '1', '--results_root', root], { cwd: host, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [folder] = readdirSync(join(root, 'h'));
    const meta = JSON.parse(readFileSync(join(root, 'h', folder, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({ tunelab_version: pkg.version, git_commit: null, status: 'completed' });
  });
});
