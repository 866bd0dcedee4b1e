/**
 * Cloud study costs against an S3-compatible server on loopback (s3rver):
 *  (a) upload throughput: `sync --upload` of N experiment folders of the reference study's shape
 *      (one real synthetic-fcnet ASHA experiment: results.csv.gz, metadata.json, tuner.json),
 *      in experiments/s and MB/s; then download (`sync`) into an empty root, and a second download
 *      with nothing changed (what checking costs);
 *  (b) the cost of the periodic upload inside a running experiment: hpo-main with --s3_bucket
 *      streaming every --interval seconds against streaming never (only the final upload), as the
 *      median over --repeats alternating pairs of the wall-time difference, in % of the run.
 * Usage: node dist/bench/study.js [--experiments 640] [--repeats 5] [--interval 1]
 * s3rver runs in a process of its own, with --openssl-legacy-provider (its list continuation tokens
 * use a cipher OpenSSL 3 keeps there: without it, listing over 1000 keys fails); $S3RVER_LOG=1 shows its log.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncStudy } from '../src/cloud/sync.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { formatTable } from '../src/util/table.js';
import { experimentFolderName } from '../src/results/layout.js';
import { s3Client } from '../src/results/s3.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const numExperiments = flag('--experiments', 640);
const repeats = flag('--repeats', 5);
const interval = flag('--interval', 1);
const tmp = mkdtempSync(join(tmpdir(), 'tunelab-bench-study-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

mkdirSync(join(tmp, 's3'));
// s3rver in its own process, as S3 is elsewhere: its work must not count as the uploader's
const serverScript = join(tmp, 's3rver.mjs');
writeFileSync(
  serverScript,
  `import S3rver from ${JSON.stringify(createRequire(import.meta.url).resolve('s3rver'))};
const s = new S3rver({ address: '127.0.0.1', port: 0, silent: process.env.S3RVER_LOG === undefined, directory: ${JSON.stringify(join(tmp, 's3'))}, configureBuckets: [{ name: 'bench', configs: [] }] });
const { port } = await s.run();
console.log(port);
`,
);
const server = spawn(process.execPath, ['--openssl-legacy-provider', serverScript], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
const port = await new Promise<number>((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
Object.assign(process.env, { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
const client = s3Client();
const location = { bucket: 'bench' };

try {
  // one real experiment, then copies of it under the names 640 of the study would have
  const seedRoot = join(tmp, 'seed');
  const one = await hpoMain({ experimentTag: 'src', method: ['ASHA'], benchmark: ['synthetic-fcnet'], randomSeed: 1, resultsRoot: seedRoot }, { log: () => {}, progress: false });
  const folder = one.outcomes[0].folder;
  const bytesPer = readdirSync(folder).reduce((s, f) => s + statSync(join(folder, f)).size, 0);
  const root = join(tmp, 'up');
  for (let i = 0; i < numExperiments; i++) {
    cpSync(folder, join(root, 'bench', experimentFolderName('bench', 'synthetic-fcnet', i, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)))), { recursive: true });
  }
  const mb = (bytesPer * numExperiments) / 1e6;
  const timed = async (f: () => Promise<{ transferred: number }>) => {
    const t0 = performance.now();
    const r = await f();
    return { s: (performance.now() - t0) / 1000, files: r.transferred };
  };
  const up = await timed(() => syncStudy({ client, location, tags: ['bench'], root, upload: true }));
  const downRoot = join(tmp, 'down');
  const down = await timed(() => syncStudy({ client, location, tags: ['bench'], root: downRoot }));
  const again = await timed(() => syncStudy({ client, location, tags: ['bench'], root: downRoot }));
  console.log(`${numExperiments} experiments of ${(bytesPer / 1e3).toFixed(1)} kB (${mb.toFixed(1)} MB in all), s3rver on loopback`);
  console.log(
    formatTable(
      ['transfer', 'files', 'seconds', 'experiments/s', 'MB/s'],
      [
        ['upload (sync --upload)', up.files, up.s.toFixed(2), (numExperiments / up.s).toFixed(1), (mb / up.s).toFixed(2)],
        ['download (sync)', down.files, down.s.toFixed(2), (numExperiments / down.s).toFixed(1), (mb / down.s).toFixed(2)],
        ['download again, unchanged', again.files, again.s.toFixed(2), (numExperiments / again.s).toFixed(1), '-'],
      ],
    ),
  );

  // (b) periodic streaming against none, alternating so that drifting load hits both alike
  const run = async (syncInterval: number) => {
    const t0 = performance.now();
    await hpoMain(
      { experimentTag: 'stream', method: ['ASHA'], benchmark: ['synthetic-fcnet'], randomSeed: 1, maxWallclockTime: 4 * 3600, resultsRoot: join(tmp, 'stream'), s3Bucket: 'bench', s3SyncInterval: syncInterval },
      { log: () => {}, progress: false },
    );
    return (performance.now() - t0) / 1000;
  };
  await run(1e9); // warm-up
  const diffs: number[] = [];
  const bases: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const base = await run(1e9);
    const streamed = await run(interval);
    bases.push(base);
    diffs.push(streamed - base);
  }
  const base = median(bases);
  console.log(
    `periodic upload every ${interval}s inside a ${base.toFixed(2)}s experiment (median of ${repeats} pairs): ` +
      `${median(diffs) >= 0 ? '+' : ''}${median(diffs).toFixed(3)}s = ${((100 * median(diffs)) / base).toFixed(2)} % of its wall time; ` +
      `at the default 60 s interval that is ${((100 * median(diffs)) / base * interval / 60).toFixed(3)} % (target < 2 %)`,
  );
} finally {
  process.kill(-server.pid!, 'SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
