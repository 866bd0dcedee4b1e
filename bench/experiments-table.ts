/**
 * The notebook API at study scale (issue 29 item 1): builds a study of the reference shape (6 setups ×
 * 4 benchmarks × N seeds; each benchmark's runs of RS and ASHA simulated once, then copied per setup
 * and seed with their metadata rewritten, so the files are real results files) and measures, each in
 * its own process and interleaved, CPU seconds and peak RSS of: loadExperimentsTable + an arquero
 * groupby, the same with a loader given as a second package root (e.g. a build of the previous
 * version), `tunelab plot`'s load (loadResults), and pandas (read_csv of every results file, the
 * metadata columns, groupby: Syne Tune's load_experiments_df) when python3 has pandas.
 * Usage: node dist/bench/experiments-table.js [seeds=20] [rounds=3] [old_package_root]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { experimentFolderName } from '../src/results/layout.js';
import { readMetadata, writeMetadata } from '../src/results/metadata.js';

const SETUPS = ['RS', 'BO', 'ASHA', 'MOBSTER', 'ASHA-TANH', 'MOBSTER-TANH'];
const BENCHMARKS = ['synthetic-fcnet', 'synthetic-mlp', 'synthetic-branin', 'fcnet-cars'];

/** Simulates RS and ASHA once per benchmark, then copies each run to every setup and seed. */
async function buildStudy(root: string, seeds: number): Promise<{ folders: number; rows: number; bytes: number }> {
  const base = join(root, 'base');
  await hpoMain({ experimentTag: 'b', method: ['RS', 'ASHA'], benchmark: BENCHMARKS, randomSeed: 1, resultsRoot: base }, { log: () => {}, progress: false });
  const runs = readdirSync(join(base, 'b')).map((f) => join(base, 'b', f));
  let rows = 0;
  let bytes = 0;
  let folders = 0;
  for (const benchmark of BENCHMARKS) {
    for (const [i, setup] of SETUPS.entries()) {
      // cheap setups copy RS's run, expensive ones ASHA's: both kinds of rows are in the study
      const from = runs.find((f) => readMetadata(f).benchmark === benchmark && readMetadata(f).method === (i % 2 === 0 ? 'RS' : 'ASHA'))!;
      for (let seed = 0; seed < seeds; seed++) {
        const folder = join(root, 'study', experimentFolderName('study', benchmark, seed, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, folders))));
        cpSync(from, folder, { recursive: true });
        writeMetadata(folder, { ...readMetadata(from), tag: 'study', method: setup, seed });
        const text = readFileSync(join(folder, 'results.csv.gz'));
        bytes += text.length;
        folders++;
      }
      // lines less the header
      rows += seeds * (gunzipSync(readFileSync(join(from, 'results.csv.gz'))).toString('latin1').split('\n').filter(Boolean).length - 1);
    }
  }
  rmSync(base, { recursive: true, force: true });
  return { folders, rows, bytes };
}

/** What a child process prints last: its CPU seconds and peak RSS in MB. */
const nodeFooter = `const u = process.resourceUsage(); console.log(JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, rss: u.maxRSS / 1024 }));`;

function nodeScenario(packageRoot: string, studyRoot: string, body: string): string[] {
  const url = (p: string) => JSON.stringify(`file://${resolve(packageRoot, p)}`);
  return [
    process.execPath,
    '--input-type=module',
    '-e',
    `const { loadExperimentsTable } = await import(${url('dist/src/plotting/frame.js')});
const { loadResults } = await import(${url('dist/src/plotting/load.js')});
const aq = await import(${url('node_modules/arquero/src/index.js')});
const options = { tags: ['study'], root: ${JSON.stringify(studyRoot)}, warn: () => {} };
${body}
${nodeFooter}`,
  ];
}

const pandasScript = (studyRoot: string) => `
import glob, json, os, resource, time
import pandas as pd
frames = []
for folder in sorted(glob.glob(os.path.join(${JSON.stringify(studyRoot)}, 'study', '*'))):
    meta = json.load(open(os.path.join(folder, 'metadata.json')))
    df = pd.read_csv(os.path.join(folder, 'results.csv.gz'))
    for k, v in (('tag', meta['tag']), ('setup', meta['method']), ('benchmark', meta['benchmark']), ('seed', meta['seed']), ('folder', folder)):
        df[k] = v
    frames.append(df)
df = pd.concat(frames, ignore_index=True)
g = df.groupby(['benchmark', 'setup', 'seed'])['st_tuner_time'].max()
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({'cpu': u.ru_utime + u.ru_stime, 'rss': u.ru_maxrss / 1024, 'rows': len(df), 'groups': len(g)}))
`;

function run(args: string[]): { cpu: number; rss: number } | string {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as { cpu: number; rss: number };
  } catch {
    return `failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const seeds = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 3);
const oldRoot = process.argv[4];
const here = join(import.meta.dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'tunelab-table-bench-'));
try {
  const t = performance.now();
  const study = await buildStudy(root, seeds);
  console.log(`study: ${study.folders} experiments (${SETUPS.length} setups × ${BENCHMARKS.length} benchmarks × ${seeds} seeds), ${study.rows.toLocaleString('en')} result rows, ${(study.bytes / 1e6).toFixed(1)} MB gzipped; built in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
  const groupby = `const n = table.groupby('benchmark', 'setup', 'seed').rollup({ end: aq.op.max('st_tuner_time') }).numRows();`;
  const scenarios: [string, string[]][] = [
    ['loadExperimentsTable + arquero groupby (this version)', nodeScenario(here, root, `const table = await loadExperimentsTable(options); ${groupby}`)],
    ["loadExperimentsTable({columns: 4}) + groupby (this version)", nodeScenario(here, root, `const table = await loadExperimentsTable({ ...options, columns: ['benchmark', 'setup', 'seed', 'st_tuner_time'] }); ${groupby}`)],
    ["tunelab plot's load, loadResults (this version)", nodeScenario(here, root, `await loadResults(options);`)],
  ];
  if (oldRoot) {
    scenarios.push(['loadExperimentsTable + arquero groupby (old)', nodeScenario(oldRoot, root, `const table = await loadExperimentsTable(options); ${groupby}`)]);
    scenarios.push(["tunelab plot's load, loadResults (old)", nodeScenario(oldRoot, root, `await loadResults(options);`)]);
  }
  const pandas = spawnSync('python3', ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0;
  if (pandas) scenarios.push(['pandas read_csv + metadata columns + groupby', ['python3', '-c', pandasScript(root)]]);
  const results = scenarios.map(() => [] as { cpu: number; rss: number }[]);
  const failures = new Map<number, string>();
  for (let r = 0; r < rounds; r++) {
    scenarios.forEach(([, args], i) => {
      const out = run(args);
      if (typeof out === 'string') failures.set(i, out);
      else results[i].push(out);
    });
  }
  console.log('| loader | CPU s (median) | peak RSS MB (median) |');
  console.log('|---|---:|---:|');
  scenarios.forEach(([name], i) => {
    const cpu = results[i].map((x) => x.cpu);
    const rss = results[i].map((x) => x.rss);
    console.log(failures.has(i) && !cpu.length ? `| ${name} | ${failures.get(i)} | |` : `| ${name} | ${median(cpu).toFixed(2)} | ${median(rss).toFixed(0)} |`);
  });
  if (!pandas) console.log('\npandas: not installed for python3 here (python3 -c "import pandas" fails), so not measured');
  writeFileSync(join(root, 'done'), '');
} finally {
  rmSync(root, { recursive: true, force: true });
}
