import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { readMetadata, writeMetadata } from '../src/results/metadata.js';
import { s3Client, uploadExperiment } from '../src/results/s3.js';
import { listKeys, runCliAsync, s3rverForTests, testS3Client } from './cloud-helpers.js';
import { tempDir } from './helpers.js';
import { runCli } from './study-helpers.js';

const s3 = s3rverForTests(['clean-bucket']);

describe('tunelab clean', () => {
  it('deletes exactly the matching folders locally and in S3, nothing without confirmation; the rerun writes a new datetime folder', async () => {
    const root = tempDir();
    const methods = { RS: methodDefinitions.RS, BO: methodDefinitions.BO };
    const study = { experimentTag: 'cl', benchmark: ['synthetic-branin'], randomSeed: 7, resultsRoot: root, maxWallclockTime: 100, s3Bucket: 'clean-bucket' };
    const report = await hpoMain({ ...study, method: ['RS', 'BO'], numSeeds: 2 }, { methods, log: () => {}, progress: false });
    expect(report.uploadFailures).toEqual([]);
    // BO seed 1 "broke": failed, locally and in S3 (as its job would have written it)
    const broken = report.outcomes.find((o) => o.metadata.method === 'BO' && o.metadata.seed === 1)!.folder;
    writeMetadata(broken, { ...readMetadata(broken), status: 'failed', error: 'out of memory' });
    await uploadExperiment(s3Client(), { bucket: 'clean-bucket' }, 'cl', 'BO-1', broken);
    const c = testS3Client(s3.endpoint);
    const before = { local: readdirSync(join(root, 'cl')).sort(), s3: await listKeys(c, 'clean-bucket', 'tunelab/cl/') };
    const args = ['clean', '--experiment_tag', 'cl', '--status', 'failed', '--results_root', root, '--s3_bucket', 'clean-bucket'];

    // no terminal and no --yes: listed, nothing deleted
    const asked = await runCliAsync(root, args);
    expect(asked.code).toBe(1);
    expect(asked.stderr).toMatch(/nothing deleted: no terminal to confirm on; pass --yes to delete these 2 folder\(s\)/);
    expect(asked.stdout).toMatch(new RegExp(`local +BO +1 +failed +${broken}`));
    expect(asked.stdout).toMatch(/s3 +BO +1 +failed +s3:\/\/clean-bucket\/tunelab\/cl\/BO-1\/cl-synthetic-branin-1-/);
    expect(readdirSync(join(root, 'cl')).sort()).toEqual(before.local);
    expect(await listKeys(c, 'clean-bucket', 'tunelab/cl/')).toEqual(before.s3);

    // a filter that matches nothing deletes nothing
    expect(runCli(root, ['clean', '--experiment_tag', 'cl', '--method', 'RS', '--seeds', '1', '--status', 'failed', '--results_root', root, '--yes']).stdout).toMatch(/no experiment folder matches/);

    const done = await runCliAsync(root, [...args, '--method', 'BO', '--seeds', '1', '--yes']);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/deleted 2 folder\(s\)/);
    const name = broken.split('/').pop()!;
    expect(readdirSync(join(root, 'cl')).sort()).toEqual(before.local.filter((f) => f !== name));
    expect(await listKeys(c, 'clean-bucket', 'tunelab/cl/')).toEqual(before.s3.filter((k) => !k.startsWith(`tunelab/cl/BO-1/${name}/`)));

    // the rerun of that seed alone (the documented recipe) writes a new folder
    const rerun = await hpoMain({ ...study, method: ['BO'], numSeeds: 2, startSeed: 1 }, { methods, log: () => {}, progress: false });
    const fresh = rerun.outcomes[0].folder.split('/').pop()!;
    expect(fresh).toMatch(/^cl-synthetic-branin-1-\d{4}(-\d\d){5}-\d{3}$/);
    expect(fresh).not.toBe(name);
    expect(readdirSync(join(root, 'cl'))).toHaveLength(4);
    expect((await listKeys(c, 'clean-bucket', `tunelab/cl/BO-1/${fresh}/`)).length).toBeGreaterThanOrEqual(3);
  });

  it('bad seeds or status: exit 2 naming the value, nothing deleted', () => {
    const root = tempDir();
    const seeds = runCli(root, ['clean', '--experiment_tag', 'cl', '--seeds', 'x', '--results_root', root, '--yes']);
    expect(seeds.code).toBe(2);
    expect(seeds.stderr).toMatch(/--seeds expects non-negative integers, got 'x'/);
    const status = runCli(root, ['clean', '--experiment_tag', 'cl', '--status', 'broken', '--results_root', root, '--yes']);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/Invalid values:[\s\S]*broken[\s\S]*failed/);
  });
});
