import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { loadResults } from '../src/plotting/load.js';
import { plotStudy } from '../src/plotting/study.js';
import { readMetadata } from '../src/results/metadata.js';
import { tempDir } from './helpers.js';

// a real S3-compatible server on loopback
let server: S3rver;
let endpoint = '';
const saved = { ...process.env };
const client = () => new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

beforeAll(async () => {
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: tempDir(), configureBuckets: [{ name: 'study-bucket', configs: [] }] });
  const { port } = (await server.run()) as unknown as { port: number };
  endpoint = `http://127.0.0.1:${port}`;
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
});
afterAll(async () => {
  process.env = saved;
  await server.close();
});

describe('results in S3', () => {
  it('uploads each experiment to <prefix>/<tag>/<job>/<folder>/ (cheap: one job per method; expensive: per seed), and plots equal from S3 and from disk', async () => {
    const root = tempDir();
    const methods = { RS: methodDefinitions.RS, BO: methodDefinitions.BO };
    const report = await hpoMain(
      { experimentTag: 's3t', method: ['RS', 'BO'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 3, resultsRoot: root, maxWallclockTime: 150, s3Bucket: 'study-bucket' },
      { methods, log: () => {}, progress: false },
    );
    expect(report.uploadFailures).toEqual([]);
    const listed = await client().send(new ListObjectsV2Command({ Bucket: 'study-bucket', Prefix: 'tunelab/s3t/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    for (const o of report.outcomes) {
      const job = o.metadata.method === 'BO' ? `BO-${o.metadata.seed}` : 'RS';
      const base = `tunelab/s3t/${job}/${o.folder.split('/').pop()}/`;
      expect(keys).toEqual(expect.arrayContaining([`${base}results.csv.gz`, `${base}metadata.json`, `${base}tuner.json`]));
    }
    const fromDisk = await loadResults({ tags: ['s3t'], root, warn: () => {} });
    const cache = tempDir();
    const warnings: string[] = [];
    const viaS3 = await plotStudy({ tags: ['s3t'], root: cache, s3: { location: { bucket: 'study-bucket' }, client: client() }, out: tempDir(), formats: ['svg'], warn: (w) => warnings.push(w) });
    const fromS3 = await loadResults({ tags: ['s3t'], root: cache, warn: () => {} });
    const strip = (runs: typeof fromDisk.runs) => runs.map((r) => ({ setup: r.setup, seed: r.seed, benchmark: r.benchmark, times: r.times, values: r.values }));
    expect(strip(fromS3.runs)).toEqual(strip(fromDisk.runs));
    expect(viaS3.tableMarkdown).toMatch(/\| (RS|BO) \|/);
    // only what plotting needs was downloaded
    expect(readMetadata(join(cache, 's3t', report.outcomes[0].folder.split('/').pop()!)).method).toBe(report.outcomes[0].metadata.method);
  });

  it('an unreachable S3 is a clear error, and the local results stay', async () => {
    const root = tempDir();
    process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
    try {
      const lines: string[] = [];
      const report = await hpoMain(
        { experimentTag: 'down', method: ['RS'], benchmark: ['synthetic-branin'], randomSeed: 3, resultsRoot: root, maxWallclockTime: 100, s3Bucket: 'study-bucket' },
        { log: (l) => lines.push(l), progress: false },
      );
      const folder = report.outcomes[0].folder;
      expect(report.uploadFailures).toEqual([folder]);
      expect(lines.join('\n')).toMatch(new RegExp(`cannot upload s3://study-bucket/tunelab/down/RS/.*: .*ECONNREFUSED.* \\(the local results stay in ${folder}\\)`));
      expect(readMetadata(folder).status).toBe('completed');
      await expect(plotStudy({ tags: ['down'], root: tempDir(), s3: { location: { bucket: 'study-bucket' } }, out: tempDir(), warn: () => {} })).rejects.toThrow(
        /cannot list s3:\/\/study-bucket\/tunelab\/down\/: .*ECONNREFUSED/,
      );
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    }
  });
});
