import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { planJobs } from '../src/launchers/launch-remote.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { putObject } from '../src/results/s3.js';
import { getObject, listKeys, runCliAsync, s3rverForTests, testS3Client } from './cloud-helpers.js';
import { tempDir } from './helpers.js';

const s3 = s3rverForTests(['sync-bucket']);

const methods = { RS: methodDefinitions.RS, BO: methodDefinitions.BO };
const study = { experimentTag: 'sy', benchmark: ['synthetic-branin'], randomSeed: 11, maxWallclockTime: 150 };

describe('a study split over jobs, streamed to S3', () => {
  it('plotted from S3 equals the study run at once locally; sync is idempotent and transfers only what changed, both ways', async () => {
    // each job as SageMaker would run it: its own hpo-main, same master seed, streaming to S3
    const jobs = planJobs({ ...study, method: ['RS', 'BO'], numSeeds: 2 }, methods);
    expect(jobs.map((j) => j.name)).toEqual(['RS', 'BO-0', 'BO-1']);
    for (const j of jobs) {
      const r = await hpoMain({ ...study, method: [j.method], startSeed: j.seeds[0], numSeeds: j.seeds[j.seeds.length - 1] + 1, resultsRoot: tempDir(), s3Bucket: 'sync-bucket' }, { methods, log: () => {}, progress: false });
      expect(r.uploadFailures).toEqual([]);
    }
    const local = tempDir();
    await hpoMain({ ...study, method: ['RS', 'BO'], numSeeds: 2, resultsRoot: local }, { methods, log: () => {}, progress: false });
    const strip = (runs: Awaited<ReturnType<typeof loadResults>>['runs']) =>
      runs.map((r) => ({ setup: r.setup, seed: r.seed, benchmark: r.benchmark, times: r.times, values: r.values })).sort((a, b) => `${a.setup}${a.seed}`.localeCompare(`${b.setup}${b.seed}`));
    const cache = tempDir();
    await plotStudy({ tags: ['sy'], root: cache, s3: { location: { bucket: 'sync-bucket' } }, out: tempDir(), formats: ['svg'], warn: () => {} });
    const fromS3 = await loadResults({ tags: ['sy'], root: cache, warn: () => {} });
    const atOnce = await loadResults({ tags: ['sy'], root: local, warn: () => {} });
    expect(fromS3.runs).toHaveLength(4);
    expect(strip(fromS3.runs)).toEqual(strip(atOnce.runs));

    const c = testS3Client(s3.endpoint);
    const keys = await listKeys(c, 'sync-bucket', 'tunelab/sy/');
    const root = tempDir();
    const sync = (...extra: string[]) => runCliAsync(root, ['sync', '--experiment_tag', 'sy', '--s3_bucket', 'sync-bucket', '--results_root', root, ...extra]);
    const first = await sync();
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^downloaded ${keys.length} file\\(s\\) .*; 0 unchanged; 4 experiment folder\\(s\\)`));
    for (const k of keys) {
      const [, , , folder, ...file] = k.split('/');
      expect(readFileSync(join(root, 'sy', folder, ...file)).equals(await getObject(c, 'sync-bucket', k))).toBe(true);
    }
    expect((await sync()).stdout).toMatch(new RegExp(`^downloaded 0 file\\(s\\) .*; ${keys.length} unchanged`));

    // one object changes in S3: only it comes down
    const metaKey = keys.find((k) => k.startsWith('tunelab/sy/BO-1/') && k.endsWith('/metadata.json'))!;
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse((await getObject(c, 'sync-bucket', metaKey)).toString()), note: 'edited' }));
    await putObject(c, 'sync-bucket', metaKey, changed);
    expect((await sync()).stdout).toMatch(new RegExp(`^downloaded 1 file\\(s\\) .*; ${keys.length - 1} unchanged`));
    const [, , , folder] = metaKey.split('/');
    expect(JSON.parse(readFileSync(join(root, 'sy', folder, 'metadata.json'), 'utf8')).note).toBe('edited');

    // --upload: one local file changed goes up, into its folder's job
    const rsMeta = keys.find((k) => k.startsWith('tunelab/sy/RS/') && k.endsWith('/metadata.json'))!;
    const rsFile = join(root, 'sy', rsMeta.split('/')[3], 'metadata.json');
    writeFileSync(rsFile, readFileSync(rsFile, 'utf8').replace('"status": "completed"', '"status": "completed", "reviewed": true'));
    expect((await sync('--upload')).stdout).toMatch(new RegExp(`^uploaded 1 file\\(s\\) .*; ${keys.length - 1} unchanged`));
    expect((await getObject(c, 'sync-bucket', rsMeta)).equals(readFileSync(rsFile))).toBe(true);
    expect((await sync('--upload')).stdout).toMatch(/^uploaded 0 file\(s\)/);
    expect(await listKeys(c, 'sync-bucket', 'tunelab/sy/')).toEqual(keys);
  });

  it('a missing bucket is a clear error naming it', async () => {
    const r = await runCliAsync(tempDir(), ['sync', '--experiment_tag', 'sy', '--s3_bucket', 'no-such-bucket', '--results_root', tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot list s3:\/\/no-such-bucket\/tunelab\/sy\/: NoSuchBucket: .*\(the bucket does not exist, or is in another account\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
