import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hpoMain } from '../src/launchers/hpo-main.js';
import { methodDefinitions } from '../src/methods/registry.js';
import { putObject } from '../src/results/s3.js';
import { type LocalPostgres, startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { until } from './study-helpers.js';
import { S3_ENV, getObject, listKeys, renamingProxy, runCliAsync, s3rverForTests, testS3Client } from './cloud-helpers.js';
import { cliPath, tempDir } from './helpers.js';

const s3 = s3rverForTests(['sec-bucket']);
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small RS experiment file. */
function experimentFile(dir: string, o: { extra?: string; name?: string; command?: string[]; maxTrials?: number } = {}): string {
  const file = join(dir, 'experiment.yml');
  writeFileSync(
    file,
    `name: ${JSON.stringify(o.name ?? 'sec')}
parameters:
  - {name: x, type: double, bounds: {min: 0, max: 1}}
metrics:
  - {name: loss, objective: minimize}
command: ${JSON.stringify(o.command ?? ['node', '-e', 'console.log("[tunelab] " + JSON.stringify({loss: 1}))'])}
method: RS
budget: {max_trials: ${o.maxTrials ?? 2}}
${o.extra ?? ''}`,
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
  it("plot leaves out, naming it, a run whose metadata names its benchmark '../../x' (figures are named after benchmarks)", async () => {
    const root = tempDir();
    const run = await hpoMain({ experimentTag: 'pl', method: ['RS'], benchmark: ['synthetic-branin'], numSeeds: 2, randomSeed: 5, maxWallclockTime: 30, resultsRoot: root }, { methods: { RS: methodDefinitions.RS }, log: () => {}, progress: false });
    const hostile = run.outcomes[1].folder;
    const meta = join(hostile, 'metadata.json');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace('"benchmark": "synthetic-branin"', '"benchmark": "../../../pwned"'));
    const out = join(root, 'a', 'plots');
    const r = cli(['plot', '--experiment_tag', 'pl', '--results_root', root, '--out', out, '--format', 'svg']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`skipping ${hostile}: its benchmark name must be a name usable as one folder name, of letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..'); got "../../../pwned"`);
    expect(readdirSync(join(root, 'a'))).toEqual(['plots']);
    expect(readdirSync(root).sort()).toEqual(['a', 'pl']);
    // the one run left is drawn as its optimization history (one run per setup: issue 24)
    expect(readdirSync(out)).toContain('history-synthetic-branin.svg');
  }, 120_000);

  it('a study --name or an experiment name with a control character is refused naming the accepted characters, and no store is written', () => {
    const dir = tempDir();
    const db = join(dir, 'studies.db');
    for (const name of ['two\nlines', 'bell\x07', '../up', '..']) {
      const r = cli(['study', 'create', '-f', experimentFile(dir), '--name', name, '--storage', db]);
      expect(r.stderr).toBe(`tunelab: --name (the study name) must be a name usable as one folder name, of letters, digits, spaces and punctuation except '/' and '\\' (no control characters; not '.' or '..'); got ${JSON.stringify(name)}\n`);
      expect(r.code).toBe(2);
    }
    const r = cli(['study', 'create', '-f', experimentFile(dir, { name: 'two\nlines' }), '--storage', db]);
    expect(r.stderr).toContain('  - name: a name of letters, digits, spaces and punctuation, without control characters (got "two\\nlines")');
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
    expect(worker.stderr).toMatch(new RegExp(`^tunelab: the study's name "1-\\.\\./\\.\\./\\.\\./\\.\\./escaped" leads outside ${root}/\\.study-workers\n$`));
    expect(worker.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['experiment.yml', 'studies.db']);
  });
});

/**
 * A trial that records what it was given (its environment's secret, plain value and store URL) in
 * `$OUT_DIR`, stays alive a moment (so that the processes can be looked at), then reports.
 */
function recordingTrial(dir: string): string {
  const file = join(dir, 'trial.mjs');
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';
const e = process.env;
writeFileSync(e.OUT_DIR + '/trial-' + process.pid + '.json', JSON.stringify({ key: e.API_KEY ?? null, plain: e.PLAIN ?? null, storage: e.TUNELAB_STORAGE ?? null }));
await new Promise((r) => setTimeout(r, Number(e.HOLD_MS ?? 0)));
console.log('[tunelab] ' + JSON.stringify({ loss: Math.random() }));
`,
  );
  return file;
}

/** An experiment of recordingTrial's, with `env` (YAML flow entries) added to its environment. */
function secretExperiment(dir: string, out: string, env: string, o: { holdMs?: number; maxTrials?: number } = {}): string {
  mkdirSync(out, { recursive: true });
  return experimentFile(dir, { command: ['node', recordingTrial(dir)], maxTrials: o.maxTrials, extra: `parallel_bandwidth: 2\nenv: {OUT_DIR: ${JSON.stringify(out)}, HOLD_MS: ${o.holdMs ?? 0}, ${env}}\n` });
}

/** Every file under `dir` whose bytes hold `text`. */
function filesHolding(dir: string, text: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(text)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** pid → argv of every process this user can see. */
function processArgv(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      out.set(Number(pid), readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // it ended while we looked
    }
  }
  return out;
}

describe('secrets stay out of argv, files and messages', () => {
  let pg: LocalPostgres;
  const password = 'pw7f3a9c1e5d';
  beforeAll(async () => {
    pg = await startLocalPostgres({ password });
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('run -f --storage postgresql://user:pw@…: no worker gets the password in its argv (they get the URL in their environment), and the trials do not get it at all', async () => {
    const dir = tempDir();
    const out = join(dir, 'trials');
    const file = secretExperiment(dir, out, 'PLAIN: visible', { holdMs: 2500, maxTrials: 4 });
    const run = spawn(process.execPath, [cliPath, 'run', '-f', file, '--storage', pg.url, '--n_workers', '2'], { cwd: dir, env: { ...process.env, TUNELAB_ROOT: join(dir, 'results') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => run.on('close', (code) => r(code)));
    // both workers hold a trial: every process of the run is alive now
    await until('two trials running', () => existsSync(out) && readdirSync(out).length >= 2, 100_000);
    const argv = processArgv();
    const workers = [...argv].filter(([pid, a]) => a[1] === cliPath && a[2] === 'study' && a[3] === 'worker' && readlinkSync(`/proc/${pid}/cwd`) === dir);
    expect(workers.length).toBeGreaterThanOrEqual(1);
    for (const [pid, a] of workers) {
      expect(a.join(' ')).not.toContain(password);
      expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(`TUNELAB_STORAGE=${pg.url}`);
    }
    // the run's own argv holds what the user typed; no other process holds the password
    expect([...argv].filter(([pid, a]) => pid !== run.pid && a.join(' ').includes(password))).toEqual([]);
    expect(await exited).toBe(0);
    expect(stderr).not.toContain(password);
    expect(readdirSync(out)).toHaveLength(4);
    for (const f of readdirSync(out)) expect(JSON.parse(readFileSync(join(out, f), 'utf8'))).toEqual({ key: null, plain: 'visible', storage: null });
  }, 180_000);

  it('a password with an unencoded @ or / is masked whole (from // to the last @) in every message', async () => {
    const dir = tempDir();
    for (const pw of ['p@ss:w/rd-7f3a', 'pw-with-@-and-/-7f3a9c', 'a/b@c#d']) {
      const bad = cli(['study', 'status', '1', '--storage', `postgresql://tl:${pw}@127.0.0.1:${pg.port}/tunelab`]);
      expect(bad.stderr).toMatch(new RegExp(`^tunelab: --storage 'postgresql://tl:\\*\\*\\*@127\\.0\\.0\\.1:${pg.port}/tunelab'(: its password holds a character a URL needs percent-encoded .* set PGPASSWORD| is not a valid URL; expected .*)\n$`));
      expect(bad.code).toBe(2);
    }
    // a valid URL, the password with a %-encoded @ and an unencoded one in the query: an authentication failure names the store masked
    const wrong = cli(['study', 'status', '1', '--storage', `postgresql://postgres:not%40it@127.0.0.1:${pg.port}/tunelab?password=x@y`, '--storage_timeout', '1']);
    expect(wrong.stderr).toContain(`postgresql://postgres:***@127.0.0.1:${pg.port}/tunelab?password=***`);
    expect(wrong.stderr).not.toMatch(/not%40it|x@y/);
    noStack(wrong.stderr);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('env: values marked from_env', () => {
  it('reach the trials but not metadata.json, S3, the study store or study export; a plain value is stored as before', async () => {
    const dir = tempDir();
    const secret = 'wandb-5ecret-93ab17';
    // what the trials saw is kept outside the folder searched for the secret
    const out = join(tempDir(), 'trials');
    const file = secretExperiment(dir, out, 'API_KEY: {from_env: TEST_API_KEY}, PLAIN: visible');
    const root = join(dir, 'results');
    const env = { TEST_API_KEY: secret, TUNELAB_ROOT: root };
    const local = cli(['run', '-f', file, '--results_root', root], env);
    expect(local.code).toBe(0);
    const shared = cli(['run', '-f', file, '--storage', join(dir, 'studies.db'), '--n_workers', '2'], env);
    expect(shared.code).toBe(0);
    const exported = cli(['study', 'export', 'sec', '--storage', join(dir, 'studies.db'), '--out', join(dir, 'exported')], env);
    expect(exported.code).toBe(0);
    const upload = await runCliAsync(dir, ['sync', '--experiment_tag', 'sec', '--s3_bucket', 'sec-bucket', '--results_root', root, '--upload'], { ...process.env, ...env });
    expect(upload.code).toBe(0);

    const given = readdirSync(out).map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')));
    expect(given).toHaveLength(4);
    for (const g of given) expect(g).toEqual({ key: secret, plain: 'visible', storage: null });
    // the reference is stored, the value nowhere: results, study store (and its WAL), export, S3
    expect(filesHolding(dir, secret)).toEqual([]);
    const [folder] = readdirSync(join(root, 'sec'));
    expect(JSON.parse(readFileSync(join(root, 'sec', folder, 'metadata.json'), 'utf8')).experiment.env).toEqual({ OUT_DIR: out, HOLD_MS: 0, API_KEY: { from_env: 'TEST_API_KEY' }, PLAIN: 'visible' });
    const c = testS3Client(s3.endpoint);
    const keys = await listKeys(c, 'sec-bucket', 'tunelab/sec/');
    expect(keys.some((k) => k.endsWith('/metadata.json'))).toBe(true);
    for (const k of keys) expect((await getObject(c, 'sec-bucket', k)).includes(secret)).toBe(false);
  }, 180_000);

  it('a from_env variable missing from the environment is a clear error (exit 2) before anything is written', () => {
    const dir = tempDir();
    const file = secretExperiment(dir, join(dir, 'trials'), 'API_KEY: {from_env: TEST_API_KEY_UNSET}');
    const root = join(dir, 'results');
    for (const args of [['run', '-f', file, '--results_root', root], ['run', '-f', file, '--storage', join(dir, 'studies.db')]]) {
      const r = cli(args);
      expect(r.stderr).toBe(`tunelab: ${file}: env.API_KEY (from_env: TEST_API_KEY_UNSET): the variable is not set in this environment; set TEST_API_KEY_UNSET before running (a from_env value is read when the run starts and never stored)\n`);
      expect(r.code).toBe(2);
    }
    expect(readdirSync(dir).sort()).toEqual(['experiment.yml', 'trial.mjs', 'trials']);
  });
});
