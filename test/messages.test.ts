import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorBackend } from '../src/backends/simulator.js';
import { syntheticBlackbox } from '../src/blackbox/synthetic.js';
import { uniform } from '../src/config-space/index.js';
import { MAX_PARAMETERS, parseExperiment } from '../src/experiment/load.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { experimentFileOptions, methodDefinitions } from '../src/methods/registry.js';
import { randomSearch } from '../src/methods/random.js';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { Tuner } from '../src/tuner/tuner.js';
import { createRng } from '../src/util/rng.js';
import { cliPath, tempDir } from './helpers.js';

/** Messages instead of stack traces, and the wording of a few that were wrong. */

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit 2, the message, no stack trace. */
function expectUserError(r: ReturnType<typeof cli>, message: string) {
  expect(r.stderr).toBe(`tunelab: ${message}\n`);
  expect(r.code).toBe(2);
}

const parameters = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, type: 'double', bounds: { min: 0, max: 1 } }));
const experiment = (extra: Record<string, unknown> = {}) => ({
  name: 'msg',
  parameters: parameters(1),
  metrics: [{ name: 'loss', objective: 'minimize' }],
  command: ['node', '-e', ''],
  budget: { max_trials: 1 },
  ...extra,
});
const problemsOf = (data: unknown) => {
  try {
    parseExperiment(data, experimentFileOptions());
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('a study id PostgreSQL cannot hold', () => {
  let pg: LocalPostgres;
  beforeAll(async () => {
    pg = await startLocalPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('study status 99999999999999999999 is "unknown study" on PostgreSQL as on SQLite, naming the valid studies', () => {
    const none = "unknown study '99999999999999999999'; valid studies: none: create one with tunelab study create -f experiment.yml";
    expectUserError(cli(['study', 'status', '99999999999999999999', '--storage', pg.url]), none);
    expectUserError(cli(['study', 'status', '2147483648', '--storage', pg.url]), none.replace('99999999999999999999', '2147483648'));
    expectUserError(cli(['study', 'status', '99999999999999999999', '--storage', join(tempDir(), 'studies.db')]), none);
  });
});

describe('usage errors are messages', () => {
  it('blackbox build of an unknown trainer: exit 2 naming the trainers, no yargs stack', () => {
    const r = cli(['blackbox', 'build', 'nonexistent-thing']);
    expectUserError(r, "unknown training function 'nonexistent-thing'; built-in ones: fcnet-cars, fcnet-penguins, fcnet-weather, fcnet-iris, or give <module.js>#<export>");
    expectUserError(cli(['blackbox', 'build', 'fcnet-cars']), 'give exactly one of --num_configs N and --grid');
  });

  it('launch-remote --n_workers 0 is refused before any job starts', () => {
    const root = tempDir();
    const r = cli(['launch-remote', '--experiment_tag', 'lr', '--method', 'RS', '--benchmark', 'synthetic-branin', '--n_workers', '0', '--results_root', root, '--max_parallel_jobs', '1']);
    expectUserError(r, '--n_workers must be a positive number, got 0');
    expect(readdirSync(root)).toEqual([]);
  });

  it('the experiment file: "an object", "an array"; grid with bounds or log is refused, saying why', () => {
    // (a number as the budget is SigOpt's observation budget: accepted, see test/habits.test.ts)
    expect(problemsOf(experiment({ resource: 5 }))).toContain('  - resource: expected an object, got 5');
    expect(problemsOf(experiment({ parameters: 'x' }))).toContain('  - parameters: expected an array, got "x"');
    const grid = problemsOf(experiment({ parameters: [{ name: 'wd', type: 'double', grid: [0.1, 0.2], bounds: { min: 0, max: 1 } }, { name: 'lr', type: 'double', grid: [0.1, 0.01], log: true }] }));
    expect(grid).toContain('  - parameters[0] (wd): bounds: does not go with grid (the grid lists the values); give grid, or bounds\n');
    expect(grid).toContain('  - parameters[1] (lr): log: does not go with grid (the grid lists the values); give grid, or bounds with log');
  });
});

describe('what a run prints', () => {
  it('a trial stopped before its first report says so (not "at -: loss=undefined")', () => {
    const dir = tempDir();
    const file = join(dir, 'experiment.json');
    writeFileSync(join(dir, 'silent.mjs'), 'setTimeout(() => {}, 60000);\n');
    writeFileSync(file, JSON.stringify(experiment({ command: ['node', join(dir, 'silent.mjs')], budget: { max_wallclock_time: 1.5 } })));
    const r = cli(['run', '-f', file, '--results_root', join(dir, 'results')]);
    expect(r.stdout).toMatch(/^t=\d+\.\ds trial 0 stopped before its first report; no feasible result yet; 1 trials ended$/m);
    expect(r.stdout).not.toMatch(/undefined| at -/);
  }, 60_000);

  it('plot says a damaged results file once', async () => {
    const root = tempDir();
    const run = await hpoMain({ experimentTag: 'dmg', method: ['RS'], benchmark: ['synthetic-branin'], randomSeed: 1, maxWallclockTime: 60, resultsRoot: root }, { methods: { RS: methodDefinitions.RS }, log: () => {}, progress: false });
    // a crash while appending: half a gzip member at the end
    appendFileSync(join(run.outcomes[0].folder, 'results.csv.gz'), gzipSync(Buffer.from('trial_id\n'.repeat(50))).subarray(0, 20));
    const r = cli(['plot', '--experiment_tag', 'dmg', '--results_root', root, '--out', join(root, 'plots'), '--format', 'html']);
    expect(r.code).toBe(0);
    expect(r.stderr.match(/complete gzip member\(s\) and dropped the last 20 bytes/g)).toHaveLength(1);
  }, 120_000);
});

describe('an experiment file past its bounds', () => {
  it('a 12 MB file of 200,000 parameters is refused with a message naming the limit; so are 200,000 parameters given as data', () => {
    const dir = tempDir();
    const file = join(dir, 'huge.json');
    writeFileSync(file, JSON.stringify(experiment({ parameters: parameters(200_000) })));
    const r = cli(['run', '-f', file, '--results_root', join(dir, 'results')]);
    expect(r.stderr).toMatch(new RegExp(`^tunelab: ${file}: 1[0-9]\\.\\d MB; an experiment file may hold at most 4 MB \\(and 10000 parameters\\)\\n$`));
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'results'))).toBe(false);
    expect(problemsOf(experiment({ parameters: parameters(200_000) }))).toBe(`experiment: parameters: 200000 parameters; at most ${MAX_PARAMETERS} are accepted`);
  });

  it('the largest space allowed is read and its tuner constructs (the duplicate-column check is one pass)', () => {
    const d = parseExperiment(experiment({ parameters: parameters(MAX_PARAMETERS) }), experimentFileOptions());
    expect(Object.keys(d.configSpace)).toHaveLength(MAX_PARAMETERS);
    const configSpace = Object.fromEntries(Object.keys(d.configSpace).map((k) => [k, uniform(0, 1)]));
    const options = {
      scheduler: randomSearch({ configSpace, metric: 'value', mode: 'min', resourceAttr: 'epoch', maxResource: 1, nWorkers: 1, rng: createRng(1) }),
      backend: new SimulatorBackend(syntheticBlackbox('synthetic-branin'), { seed: 1 }),
      nWorkers: 1,
      stopping: { maxNumResults: 1 },
      configNames: Object.keys(configSpace),
    };
    const tuner = new Tuner(options);
    expect(tuner).toBeInstanceOf(Tuner);
    // a clash is still found
    expect(() => new Tuner({ ...options, configNames: [...Object.keys(configSpace), 'p17'] })).toThrow("results column 'config_p17' appears twice");
  });
});
