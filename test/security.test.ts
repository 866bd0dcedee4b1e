import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { putObject } from '../src/results/s3.js';
import { S3_ENV, getObject, listKeys, renamingProxy, runCliAsync, s3rverForTests, testS3Client } from './cloud-helpers.js';
import { cliPath, tempDir } from './helpers.js';

const s3 = s3rverForTests(['sec-bucket']);
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small RS experiment file (its command never runs in these tests unless asked). */
function experimentFile(dir: string, extra = '', name = 'sec'): string {
  const file = join(dir, 'experiment.yml');
  writeFileSync(
    file,
    `name: ${JSON.stringify(name)}
parameters:
  - {name: x, type: double, bounds: {min: 0, max: 1}}
metrics:
  - {name: loss, objective: minimize}
command: [node, -e, "console.log(JSON.stringify({loss: 1}))"]
method: RS
budget: {max_trials: 2}
${extra}`,
  );
  return file;
}

describe('tunelab sync writes inside the results root only', () => {
  it('skips, naming each, S3 keys whose file part climbs out of the experiment folder (../, up to /) or through a local link', async () => {
    const c = testS3Client(s3.endpoint);
    const folder = 'sec-synthetic-branin-0-2024-01-01-00-00-00-000';
    const base = `tunelab/sec/RS/${folder}`;
    const t = tempDir();
    const root = join(t, 'a', 'b', 'root');
    const outside = join(t, 'outside');
    mkdirSync(outside);
    // the local copy of the folder already holds a link out (a folder replaced by a link to ~/.ssh)
    mkdirSync(join(root, 'sec', folder), { recursive: true });
    symlinkSync(outside, join(root, 'sec', folder, 'checkpoints'));
    await putObject(c, 'sec-bucket', `${base}/metadata.json`, Buffer.from('{"ok": true}'));
    await putObject(c, 'sec-bucket', `${base}/logs/trial-0.stdout`, Buffer.from('epoch 1\n'));
    const hostile = {
      [`${base}/evil-1`]: `${base}/../../../../escape.txt`,
      [`${base}/evil-2`]: `${base}/${'../'.repeat(40)}${relative('/', outside)}/climbed.txt`,
      [`${base}/evil-3`]: `${base}/checkpoints/authorized_keys`,
      [`${base}/evil-4`]: `${base}/logs/new\nline`,
    };
    for (const k of Object.keys(hostile)) await putObject(c, 'sec-bucket', k, Buffer.from('ssh-ed25519 AAAA attacker'));
    const proxy = await renamingProxy(s3.endpoint, 'sec-bucket', hostile);
    try {
      const r = await runCliAsync(root, ['sync', '--experiment_tag', 'sec', '--s3_bucket', 'sec-bucket', '--results_root', root], { ...process.env, ...S3_ENV, AWS_ENDPOINT_URL_S3: proxy.endpoint });
      expect(r.stderr).toContain(`tunelab: skipping s3://sec-bucket/${hostile[`${base}/evil-1`]}: its file part "../../../../escape.txt" leads outside ${join(root, 'sec', folder)}`);
      expect(r.stderr).toContain(`skipping s3://sec-bucket/${hostile[`${base}/evil-2`]}: its file part "${'../'.repeat(40)}${relative('/', outside)}/climbed.txt" leads outside`);
      expect(r.stderr).toContain(`skipping s3://sec-bucket/${base}/checkpoints/authorized_keys: its file part "checkpoints/authorized_keys" leads outside ${join(root, 'sec', folder)} through the symbolic link ${join(root, 'sec', folder, 'checkpoints')}`);
      expect(r.stderr).toContain('its file part "logs/new\\nline" holds a control character');
      noStack(r.stderr);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^downloaded 2 file\(s\) .*; 4 left out \(named above\)/);
      expect(readFileSync(join(root, 'sec', folder, 'metadata.json'), 'utf8')).toBe('{"ok": true}');
      // nothing landed anywhere else
      expect(existsSync(join(t, 'a', 'escape.txt'))).toBe(false);
      expect(readdirSync(outside)).toEqual([]);
      expect(readdirSync(join(root, 'sec', folder, 'logs'))).toEqual(['trial-0.stdout']);
    } finally {
      await proxy.close();
    }
  });

  it('uploads regular files only: links out of the folder and loops are skipped with a note; --follow_symlinks follows links that stay inside', async () => {
    const root = tempDir();
    const run = await hpoMain({ experimentTag: 'secup', method: ['RS'], benchmark: ['synthetic-branin'], randomSeed: 3, maxWallclockTime: 30, resultsRoot: root }, { methods: { RS: methodDefinitions.RS }, log: () => {}, progress: false });
    const folder = run.outcomes[0].folder;
    const secret = join(tempDir(), 'credentials');
    writeFileSync(secret, '[default]\naws_secret_access_key = SECRET\n');
    const ck = join(folder, 'checkpoints', '1');
    mkdirSync(ck, { recursive: true });
    writeFileSync(join(ck, 'model.bin'), 'weights');
    symlinkSync(secret, join(ck, 'creds'));
    symlinkSync('..', join(ck, 'up')); // a loop: checkpoints/1/up/1/up/…
    symlinkSync('self', join(ck, 'self')); // ELOOP on stat
    symlinkSync('model.bin', join(ck, 'latest')); // stays inside
    const sync = (...extra: string[]) => runCliAsync(root, ['sync', '--experiment_tag', 'secup', '--s3_bucket', 'sec-bucket', '--results_root', root, '--upload', ...extra]);
    const prefix = `tunelab/secup/RS/${relative(join(root, 'secup'), folder)}/`;

    const plain = await sync();
    noStack(plain.stderr);
    expect(plain.code).toBe(0);
    for (const link of ['creds', 'up', 'self', 'latest']) expect(plain.stderr).toContain(`tunelab: not uploaded: ${join(ck, link)}: a symbolic link (not followed); --follow_symlinks`);
    const c = testS3Client(s3.endpoint);
    const keys = (await listKeys(c, 'sec-bucket', prefix)).map((k) => k.slice(prefix.length));
    expect(keys).toContain('checkpoints/1/model.bin');
    expect(keys.filter((k) => k.startsWith('checkpoints/'))).toEqual(['checkpoints/1/model.bin']);

    const followed = await sync('--follow_symlinks');
    noStack(followed.stderr);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toMatch(/^uploaded 1 file\(s\)/);
    expect(followed.stderr).toContain(`not uploaded: ${join(ck, 'creds')}: a symbolic link not followed: the link "checkpoints/1/creds" leads outside ${folder} through the symbolic link ${join(ck, 'creds')}`);
    expect(followed.stderr).toContain(`not uploaded: ${join(ck, 'up')}: a symbolic link not followed: it loops back to`);
    expect(followed.stderr).toContain(`not uploaded: ${join(ck, 'self')}: a symbolic link not followed: the link "checkpoints/1/self" goes through a broken symbolic link`);
    const after = (await listKeys(c, 'sec-bucket', prefix)).map((k) => k.slice(prefix.length));
    expect(after.filter((k) => k.startsWith('checkpoints/'))).toEqual(['checkpoints/1/latest', 'checkpoints/1/model.bin']);
    expect((await getObject(c, 'sec-bucket', `${prefix}checkpoints/1/latest`)).toString()).toBe('weights');
  });
});

describe('names that become folder names', () => {
  it('a study --name or an experiment name with a control character is refused naming the accepted characters, and no store is written', () => {
    const dir = tempDir();
    const db = join(dir, 'studies.db');
    for (const name of ['two\nlines', 'bell\x07', '../up', '..']) {
      const r = cli(['study', 'create', '-f', experimentFile(dir), '--name', name, '--storage', db]);
      expect(r.stderr).toBe(`tunelab: --name (the study name) must be a name usable as one folder name, of letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..'); got ${JSON.stringify(name)}\n`);
      expect(r.code).toBe(2);
    }
    const r = cli(['study', 'create', '-f', experimentFile(dir, '', 'two\nlines'), '--storage', db]);
    expect(r.stderr).toContain('  - name: a name of letters, digits, _ . - (starting with a letter or _) (got "two\\nlines")');
    expect(r.code).toBe(2);
    expect(existsSync(db)).toBe(false);
  });

  it('a study name another client wrote into the store (../../x) is refused by export and by the worker: nothing written outside the root', () => {
    const dir = tempDir();
    const db = join(dir, 'studies.db');
    const root = join(dir, 'a', 'root');
    expect(cli(['study', 'create', '-f', experimentFile(dir), '--storage', db]).code).toBe(0);
    const sqlite = new Database(db);
    sqlite.prepare('UPDATE studies SET name = ? WHERE id = 1').run('../../../../escaped');
    sqlite.close();
    const exported = cli(['study', 'export', '1', '--storage', db, '--out', root]);
    expect(exported.stderr).toBe(`tunelab: study 1's name in sqlite://${db} must be a name usable as one folder name, of letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..'); got "../../../../escaped"\n`);
    expect(exported.code).toBe(2);
    const worker = cli(['study', 'worker', '1', '--storage', db], { TUNELAB_ROOT: root });
    expect(worker.stderr).toMatch(new RegExp(`^tunelab: the study's name and worker id "1-\\.\\./\\.\\./\\.\\./\\.\\./escaped/[^"/]+" leads outside ${root}/\\.study-workers\n$`));
    expect(worker.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['experiment.yml', 'studies.db']);
  });
});
