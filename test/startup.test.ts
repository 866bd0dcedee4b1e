import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { isHeavy, loadedPackages, scenarios } from '../bench/startup.js';
import { tempDir } from './helpers.js';

// what start-up loads, not how long it takes (bench/startup.ts prints the times)
const root = join(import.meta.dirname, '..');
const scenario = (name: string) => scenarios(tempDir()).find((s) => s.name === name)!.args;

describe('start-up loads no heavy dependency it does not use', () => {
  it('the loader hook sees ESM imports and CommonJS requires', () => {
    const r = loadedPackages(['--input-type=module', '-e', "await import('arquero'); (await import('node:module')).createRequire(process.cwd() + '/')('@aws-sdk/client-s3')"], root);
    expect(r.status).toBe(0);
    expect(r.packages).toEqual(expect.arrayContaining(['arquero', '@aws-sdk/client-s3', '@aws-sdk/core']));
  });

  for (const name of ['tunelab --help', 'tunelab methods', 'tunelab benchmarks', "import('tunelab')", "import('tunelab/trial')"]) {
    it(`${name}: none of @aws-sdk/*, vega, vega-lite, arquero, @resvg/resvg-js, h5wasm, onnxruntime-web`, () => {
      const r = loadedPackages(scenario(name), root);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.packages.filter(isHeavy)).toEqual([]);
    });
  }

  it("import('tunelab/trial') loads no package at all", () => {
    expect(loadedPackages(scenario("import('tunelab/trial')"), root).packages).toEqual([]);
  });

  it('hpo-main on the simulator loads neither the AWS SDK nor vega', () => {
    const r = loadedPackages(scenario('tunelab hpo-main (simulator, RS, branin)'), root);
    expect(r.status).toBe(0);
    expect(r.packages.length).toBeGreaterThan(0);
    expect(r.packages.filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('vega'))).toEqual([]);
  });

  it('run -f of a one-trial file loads only what it uses: no progress bar without a terminal, no blackbox, simulator or AWS code', () => {
    const r = loadedPackages(scenario('tunelab run -f (one trial)'), root);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.packages.filter((p) => isHeavy(p) || p === 'cli-progress')).toEqual([]);
    // yargs (with its 32 modules of dependencies) and zod's builders come from the build's bundles
    // (scripts/bundle-vendor.mjs), not from their packages
    expect(r.packages).toEqual(['js-yaml', 'seedrandom']);
    // before: 289 modules (blackboxes, simulator, SageMaker backend, cli-progress, all of seedrandom); 243
    // after that cut, 255 once the methods for several objectives, conditional spaces and trials.jsonl came;
    // 226 with only the run command's modules and only RS's scheduler modules loaded (229 with EHVI's wave);
    // 90 with js-yaml's one module for yaml's 72 and zod's tree-shaken build for its 70; 60 with yargs' bundle
    expect(r.modules).toBeLessThan(65);
  });
});

describe('CommonJS', () => {
  const requireSupported = (process.features as { require_module?: boolean }).require_module === true;

  it.runIf(requireSupported)("require('tunelab') and require('tunelab/trial') work where node can require ES modules (20.19+)", () => {
    const r = spawnSync(process.execPath, ['-e', "const t = require('tunelab'); const trial = require('tunelab/trial'); console.log(typeof t.hpoMain, typeof trial.report, t.report === trial.report)"], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function true');
  });

  it('no module of the package uses top-level await (it would make require() fail with ERR_REQUIRE_ASYNC_MODULE)', () => {
    const files = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const f of files) {
      const source = ts.createSourceFile(f, readFileSync(join(root, 'src', f), 'utf8'), ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)) return;
        if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) {
          found.push(`src/${f}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(found).toEqual([]);
  });
});
