import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { experimentSchema } from '../src/experiment/schema.js';
import { ZOD_BUILDERS } from '../src/experiment/zod.js';
import type yargsFactory from 'yargs';

// the build's bundles (scripts/bundle-vendor.mjs) against the packages themselves, which tests running from source use
const dist = join(import.meta.dirname, '..', 'dist', 'src');
const built = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;

const good = { name: 'x', parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }], metrics: [{ name: 'loss', objective: 'minimize' }], command: ['sh'], budget: { max_trials: 1 } };
const bad: unknown[] = [
  {},
  { ...good, name: '' },
  { ...good, parameters: [] },
  { ...good, parameters: [{ name: '1x', type: 'float', bounds: { min: 'a' } }] },
  { ...good, metrics: [{ name: 'loss', objective: 'min', strategy: 'best' }], extra: 1 },
  { ...good, budget: { max_trials: -1, max_wallclock_time: 0 }, parallel_bandwidth: 1.5 },
  { ...good, env: { A: { from_env: '' }, B: [1] }, random_seed: 2 ** 33 },
  { ...good, study: { recover: 'keep', buffer: -1 }, best: 'first', command: [] },
  { ...good, points_to_evaluate: [{ x: true }], resource: { name: 'epoch', max: 0 }, method_options: { reduction_factor: 1, typo: 2 } },
];

describe("the build's zod", () => {
  it('exports exactly the builders the schema is written with', () => {
    expect(Object.keys(createRequire(import.meta.url)(join(dist, 'vendor', 'zod.cjs'))).sort()).toEqual([...ZOD_BUILDERS].sort());
  });

  it('parses an experiment file to the same data, and a bad one to the same issues and messages, as zod', async () => {
    const { experimentSchema: builtSchema } = await built<typeof import('../src/experiment/schema.js')>('experiment/schema.js');
    expect(builtSchema.parse(good)).toEqual(experimentSchema.parse(good));
    for (const input of bad) {
      const ours = builtSchema.safeParse(input, { reportInput: true });
      const zods = experimentSchema.safeParse(input, { reportInput: true });
      expect(ours.success).toBe(false);
      expect(JSON.parse(JSON.stringify(ours.error!.issues))).toEqual(JSON.parse(JSON.stringify(zods.error!.issues)));
    }
    // the server's request schemas are generated from it with zod's own toJSONSchema (server/schemas.ts)
    expect(z.toJSONSchema(builtSchema, { target: 'draft-7', io: 'input' })).toEqual(z.toJSONSchema(experimentSchema, { target: 'draft-7', io: 'input' }));
  });
});

describe("the build's yargs", () => {
  type Factory = typeof yargsFactory;
  const require = createRequire(import.meta.url);
  const bundled = require(join(dist, 'vendor', 'yargs', 'build', 'index.cjs')) as { yargs: Factory; hideBin: (argv: string[]) => string[] };
  const own = { yargs: require('yargs/yargs') as Factory, hideBin: (require('yargs/helpers') as { hideBin: (argv: string[]) => string[] }).hideBin };

  /** What a parser built with `factory` prints (help, errors) and parses for `args`, in `locale`. */
  function outcome(factory: Factory, args: string[], locale: string) {
    let printed = '';
    const parser = factory()
      .scriptName('tunelab')
      .locale(locale)
      .exitProcess(false)
      .wrap(60)
      .command('run <file>', 'runs the experiment file: its trials, with their budget, under the method the file names', (y) =>
        y.positional('file', { type: 'string' }).option('mode', { choices: ['fast', 'exact'], default: 'exact', describe: 'how close to follow the file' }).option('seed', { type: 'number', demandOption: true }),
      )
      .demandCommand(1)
      .strict();
    let argv: unknown;
    try {
      argv = parser.parse(args, {}, (err, parsed, output) => {
        printed = `${err?.message ?? ''}|${output}`;
        argv = parsed;
      });
    } catch (e) {
      printed += `threw ${(e as Error).message}`;
    }
    return { printed, argv: JSON.stringify(argv) };
  }

  it('prints the same help and the same errors, in every locale, and parses the same, as yargs itself', () => {
    const cases = [['--help'], ['run', '--help'], ['run'], ['run', 'a.yml'], ['run', 'a.yml', '--seed', '3', '--mode', 'slow'], ['run', 'a.yml', '--seed', '3', '--typo'], ['runn'], ['run', 'a.yml', '--seed', '3']];
    for (const locale of ['en', 'de', 'fr']) {
      for (const args of cases) expect(outcome(bundled.yargs, args, locale), `${locale} ${args.join(' ')}`).toEqual(outcome(own.yargs, args, locale));
    }
    // the cases did reach yargs' messages, in the locale asked for
    expect(outcome(bundled.yargs, ['run', 'a.yml'], 'en').printed).toContain('Missing required argument: seed');
    expect(outcome(bundled.yargs, ['run', 'a.yml'], 'de').printed).toContain('Fehlendes Argument: seed');
    expect(outcome(bundled.yargs, ['run', '--help'], 'en').printed).toContain('choices: "fast", "exact"');
    expect(bundled.hideBin(['node', 'cli.js', 'run', '-f'])).toEqual(own.hideBin(['node', 'cli.js', 'run', '-f']));
  });
});
