import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExperimentStream } from '../src/cloud/stream.js';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { readMetadata } from '../src/results/metadata.js';
import { completeRowsInS3, faultProxy, getObject, listKeys, rowsOf, silentServer, s3rverForTests, testS3Client } from './cloud-helpers.js';
import { cliPath, readRows, tempDir } from './helpers.js';
import { until } from './study-helpers.js';

const s3 = s3rverForTests(['stream-bucket']);

describe('results streamed to S3', () => {
  it('an S3 endpoint that accepts and never answers: each call times out, is retried a bounded number of times, fails clearly; later seeds still run and local results stay', async () => {
    const silent = await silentServer();
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: silent.endpoint, TUNELAB_AWS_TIMEOUT: '0.3', TUNELAB_AWS_MAX_ATTEMPTS: '2' });
    try {
      const lines: string[] = [];
      const report = await hpoMain(
        { experimentTag: 'hang', method: ['RS'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 3, resultsRoot: tempDir(), maxWallclockTime: 100, s3Bucket: 'stream-bucket' },
        { log: (l) => lines.push(l), progress: false },
      );
      expect(report.outcomes.map((o) => [o.metadata.seed, o.metadata.status])).toEqual([
        [0, 'completed'],
        [1, 'completed'],
      ]);
      expect(report.uploadFailures).toEqual(report.outcomes.map((o) => o.folder));
      const text = lines.join('\n');
      expect(text).toMatch(/cannot upload s3:\/\/stream-bucket\/tunelab\/hang\/RS\/hang-synthetic-branin-0-[^ ]+: TimeoutError: .*requestTimeout.* \(after 2 attempts\) \(the local results stay in /);
      // two attempts per file, never more
      expect(silent.stats.connections).toBeGreaterThanOrEqual(2);
      for (const o of report.outcomes) expect(readRows(join(o.folder, 'results.csv.gz')).length).toBe(o.summary!.numResults);
    } finally {
      Object.assign(process.env, { AWS_ENDPOINT_URL_S3: s3.endpoint });
      delete process.env.TUNELAB_AWS_TIMEOUT;
      delete process.env.TUNELAB_AWS_MAX_ATTEMPTS;
      await silent.close();
    }
  });

  it('uploads through throttling (503 SlowDown) and 500s, retried with backoff, and S3 then holds exactly the local files', async () => {
    // every second request fails, alternately throttled and internal
    const proxy = await faultProxy(s3.endpoint, (n) => (n % 2 === 0 ? (n % 4 === 0 ? 'slowdown' : 'internal') : undefined));
    process.env.AWS_ENDPOINT_URL_S3 = proxy.endpoint;
    try {
      const report = await hpoMain(
        { experimentTag: 'thr', method: ['RS'], benchmark: ['synthetic-branin'], randomSeed: 3, resultsRoot: tempDir(), maxWallclockTime: 200, s3Bucket: 'stream-bucket' },
        { log: () => {}, progress: false },
      );
      expect(report.uploadFailures).toEqual([]);
      expect(proxy.stats.injected).toBeGreaterThanOrEqual(3);
      const folder = report.outcomes[0].folder;
      const base = `tunelab/thr/RS/${folder.split('/').pop()}/`;
      const client = testS3Client(s3.endpoint);
      const keys = await listKeys(client, 'stream-bucket', base);
      expect(keys).toEqual(readdirSync(folder).filter((f) => f !== 'lock').sort().map((f) => base + f));
      for (const k of keys) expect((await getObject(client, 'stream-bucket', k)).equals(readFileSync(join(folder, k.slice(base.length))))).toBe(true);
    } finally {
      process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
      await proxy.close();
    }
  });

  it('an interval beyond what a timer can hold streams never (not every millisecond)', async () => {
    const folder = tempDir();
    writeFileSync(join(folder, 'metadata.json'), '{}');
    const stream = new ExperimentStream({ location: { bucket: 'stream-bucket' }, tag: 'far', job: 'RS', interval: 1e9, client: testS3Client(s3.endpoint), log: () => {} });
    stream.start(folder);
    await new Promise((r) => setTimeout(r, 200));
    expect(stream.uploads).toBe(0);
    expect(await stream.finish()).toBe(`s3://stream-bucket/tunelab/far/RS/${folder.split('/').pop()}/`);
  });

  it('a job killed mid-run (kill -9) leaves its partial results and status running in S3', async () => {
    const root = tempDir();
    const child = spawn(
      process.execPath,
      [cliPath, 'hpo-main', '--experiment_tag', 'killed', '--method', 'RS', '--benchmark', 'synthetic-branin', '--random_seed', '3', '--results_root', root, '--max_wallclock_time', '50000000', '--s3_bucket', 'stream-bucket', '--s3_sync_interval', '5'],
      { stdio: 'ignore', env: { ...process.env }, detached: true },
    );
    const exited = new Promise((r) => child.on('exit', r));
    const client = testS3Client(s3.endpoint);
    let resultsKey = '';
    try {
      // an upload with rows while the run goes on (rows reach the file with a checkpoint, at most
      // every 30 wall-clock seconds on the simulator)
      await until('a periodic upload with rows', async () => {
        const keys = await listKeys(client, 'stream-bucket', 'tunelab/killed/RS/');
        resultsKey = keys.find((k) => k.endsWith('/results.csv.gz')) ?? '';
        if (!resultsKey) return false;
        return ((await completeRowsInS3(client, 'stream-bucket', resultsKey))?.length ?? 0) > 0;
      }, 100_000);
    } finally {
      // an upload round has just ended (results go last) and the next is 5 s away: s3rver, unlike
      // S3, keeps the part of an object whose PUT a kill cut off, so the kill must not land in one
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    const prefix = resultsKey.slice(0, -'results.csv.gz'.length);
    const meta = JSON.parse((await getObject(client, 'stream-bucket', `${prefix}metadata.json`)).toString('utf8'));
    expect(meta).toMatchObject({ status: 'running', method: 'RS', seed: 0 });
    expect(JSON.parse((await getObject(client, 'stream-bucket', `${prefix}tuner.json`)).toString('utf8')).format).toBe('tunelab-tuner');
    const inS3 = rowsOf(await getObject(client, 'stream-bucket', resultsKey));
    const [folder] = readdirSync(join(root, 'killed'));
    const local = readRows(join(root, 'killed', folder, 'results.csv.gz'));
    expect(inS3.length).toBeGreaterThan(0);
    expect(local.slice(0, inS3.length)).toEqual(inS3);
    expect(readMetadata(join(root, 'killed', folder)).status).toBe('running');
  });
});
