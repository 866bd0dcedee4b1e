import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteStudy } from '../src/study/remote.js';
import { Study, createStudy, loadStudy } from '../src/study/study.js';
import { cliAsync, tempDir } from './helpers.js';
import { PYTHON, type ServerProcess, call, hasPython, startServerProcess } from './server-helpers.js';
import { processesUnder, studyEnv, until } from './study-helpers.js';

/**
 * The study server's own clients beside the SigOpt ones (issue 22 item 4, issue 25 item 1): `run -f
 * --storage http://…`, createStudy/loadStudy on a server URL, study status | logs | best | stop over
 * HTTP, and the executors with the server's URL as the store. The token travels by environment only.
 */

const TOKEN = 'tok-clients-0123456789abcdef';
let root: string;
let server: ServerProcess;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = tempDir('tunelab-server-clients-');
  const tokenFile = join(root, 'tokens');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  server = await startServerProcess(root, children, join(root, 'studies.db'), { tokenFile });
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await until('no process left', () => processesUnder([root]).length === 0, 15_000);
});

/** A trial that reports loss = (x - 2)² and records whether the token reached it or its worker's argv. */
function trialFiles(dir: string, extra: Record<string, unknown> = {}): string {
  writeFileSync(
    join(dir, 'trial.py'),
    `import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x = float(args['--x'])
def parent_of(pid):
    return int(open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()[1])
# the worker: the parent of the shell that runs the trial
parent = open('/proc/%d/cmdline' % parent_of(os.getppid())).read().replace('\\0', ' ')
with open(os.path.join(os.environ['MARKS'], 'trial-%s' % os.environ['TUNELAB_TRIAL_ID']), 'w') as f:
    json.dump({'token_in_env': any(${JSON.stringify(TOKEN)} in v for v in os.environ.values()), 'token_in_worker_argv': ${JSON.stringify(TOKEN)} in parent, 'worker': parent}, f)
print('hello from x=%.3f' % x, flush=True)
print('[tunelab] ' + json.dumps({'loss': (x - 2) ** 2}), flush=True)
`,
  );
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'over-http',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 4 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['python3', 'trial.py'],
      env: { MARKS: dir },
      method: 'RS',
      budget: { max_trials: 9 },
      parallel_bandwidth: 3,
      random_seed: 5,
      ...extra,
    }),
  );
  return file;
}

/** What every trial recorded. */
function marks(dir: string): { token_in_env: boolean; token_in_worker_argv: boolean; worker: string }[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('trial-'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
}

const withToken = () => ({ ...studyEnv(root), TUNELAB_TOKEN: TOKEN });
const cli = (args: string[], env: NodeJS.ProcessEnv = withToken()) => cliAsync(args, env);

describe.skipIf(!hasPython)('run -f --storage http://… and the study commands over HTTP', () => {
  it('creates the study on the server, runs its workers over HTTP, meets the budget exactly; status, logs, best, stop work on the URL', async () => {
    const file = trialFiles(root);
    const r = await cli(['run', '-f', file, '--storage', server.url]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    const studyUrl = `${server.url}/v1/experiments/1`;
    expect(r.stdout).toContain(`in ${studyUrl}: starting 3 worker(s); join from elsewhere with: tunelab study worker ${studyUrl}`);
    expect(r.stdout).toMatch(/study 1 'over-http': completed, 9 \/ 9 observations \(0 failed\); best loss [\d.e-]+ \(suggestion \d+: x=/);
    // the token reached neither a trial nor a worker's argv
    const m = marks(root);
    expect(m).toHaveLength(9);
    expect(m.filter((t) => t.token_in_env || t.token_in_worker_argv || !t.worker.includes(`study worker ${studyUrl}`))).toEqual([]);

    // the study on the server: what the commands print over HTTP
    const status = await cli(['study', 'status', studyUrl, '--json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ id: 1, name: 'over-http', storage: studyUrl, status: 'completed', observations: 9, budget: 9, failed: 0, suggestions: { completed: 9, open: 0 } });
    expect(report.workers).toHaveLength(3);
    expect(report.workers.every((w: { state: string }) => w.state === 'exited')).toBe(true);
    // the same by id with the server's URL as --storage
    expect(JSON.parse((await cli(['study', 'status', '1', '--storage', server.url, '--json'])).stdout).observations).toBe(9);
    const best = JSON.parse((await cli(['study', 'best', studyUrl, '--json'])).stdout);
    expect(best).toMatchObject({ metric: 'loss', value: report.best.value, suggestionId: report.best.suggestionId });
    expect(best.value).toBeCloseTo((best.config.x - 2) ** 2, 10);
    const logs = await cli(['study', 'logs', studyUrl]);
    expect(logs.code).toBe(0);
    const hellos = logs.stdout.split('\n').filter((l) => /^\[[^\]]+ trial \d+\] hello from x=/.test(l));
    expect(hellos).toHaveLength(9);

    // without the token: refused, naming where the token goes (and nothing printed of it)
    const refused = await cli(['study', 'status', studyUrl], studyEnv(root));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refused the API token \(401/);
    // a token file works as the environment does
    const tokenFile = join(root, 'my-token');
    writeFileSync(tokenFile, `# mine\n${TOKEN}\n`);
    expect((await cli(['study', 'best', studyUrl, '--token_file', tokenFile], studyEnv(root))).code).toBe(0);

    // the same file again: the study joined (already complete), nothing more run
    const again = await cli(['run', '-f', file, '--storage', server.url]);
    expect(again.code).toBe(0);
    expect(marks(root)).toHaveLength(9);
    // by the study's URL too; another problem of that name is refused, naming what differs
    expect((await cli(['run', '-f', file, '--storage', studyUrl])).code).toBe(0);
    const other = trialFiles(root, { parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 5 } }] });
    const clash = await cli(['run', '-f', other, '--storage', server.url]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/study 1 'over-http' on http:\/\/127\.0\.0\.1:\d+ tunes another problem \(its parameters differ/);

    // stop, over HTTP
    const stop = await cli(['study', 'stop', studyUrl]);
    expect(stop.code).toBe(0);
    expect((await call(server.url, 'GET', '/v1/experiments/1', undefined, { authorization: `Bearer ${TOKEN}` })).body.tunelab).toMatchObject({ status: 'stopped', stop_mode: 'finish' });
    // commands of a store only say so
    const exported = await cli(['study', 'export', studyUrl]);
    expect(exported.code).toBe(2);
    expect(exported.stderr).toMatch(/works on a store/);
  }, 180_000);

  it('a file the server cannot take is refused with the server\'s reason, and nothing is created', async () => {
    const file = trialFiles(root, { budget: { max_wallclock_time: 60 } });
    const r = await cli(['run', '-f', file, '--storage', server.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a study on a server needs budget\.max_trials \(SigOpt's observation_budget\)/);
    const bad = await cli(['run', '-f', trialFiles(root, { method: 'GRID' }), '--storage', server.url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/HTTP 400: .*method/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await call(server.url, 'GET', '/v1/experiments/1', undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  }, 60_000);
});

describe.skipIf(!hasPython)('executors with the study server as the store', () => {
  it('run -f --executor local --storage http://…: workers reach the server over HTTP, the token in their environment only', async () => {
    const file = trialFiles(root);
    const r = await cli(['run', '-f', file, '--executor', 'local', '--workers', '2', '--storage', server.url]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/study 1 'over-http': completed, 9 \/ 9 observations/);
    const m = marks(root);
    expect(m).toHaveLength(9);
    expect(m.filter((t) => t.token_in_env || t.token_in_worker_argv || !t.worker.includes(`study worker ${server.url}/v1/experiments/1 `))).toEqual([]);
  }, 180_000);

  it('study launch <URL> --executor local: workers started on a study createStudy made on the server', async () => {
    const file = trialFiles(root, { budget: { max_trials: 6 } });
    const study = await createStudy(file, { storage: server.url as `http://${string}`, token: TOKEN, name: 'launched' });
    expect(study).toBeInstanceOf(RemoteStudy);
    await study.close();
    const url = `${server.url}/v1/experiments/${study.id}`;
    const r = await cli(['study', 'launch', url, '--workers', '2', '--executor', 'local']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 worker\(s\) submitted to local/);
    const auth = { authorization: `Bearer ${TOKEN}` };
    await until('the launched workers to meet the budget', async () => (await call(server.url, 'GET', `/v1/experiments/${study.id}`, undefined, auth)).body.tunelab.status === 'completed', 120_000);
    await until('the workers to end', () => processesUnder([root]).filter((p) => p.includes('study worker')).length === 0, 30_000);
    const m = marks(root);
    expect(m).toHaveLength(6);
    expect(m.every((t) => !t.token_in_env && !t.token_in_worker_argv)).toBe(true);
  }, 180_000);
});

describe('createStudy / loadStudy on a server URL (the JS API)', () => {
  it('creates on the server, joins by name, loads by URL or by id; ask, report, tell, optimize (2 workers), status and best over HTTP', async () => {
    const experiment = {
      name: 'js-api',
      parameters: [
        { name: 'x', type: 'double', bounds: { min: 0.001, max: 1 }, log: true },
        { name: 'kind', type: 'categorical', categorical_values: ['a', { name: 'b' }] },
        { name: 'fixed', type: 'int', value: 3 },
      ],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      method: 'RS',
      budget: { max_trials: 4 },
      parallel_bandwidth: 2,
      random_seed: 1,
    };
    const storage = server.url as `http://${string}`;
    const created = await createStudy(experiment, { storage, token: TOKEN });
    expect(created).toBeInstanceOf(RemoteStudy);
    expect(created.location).toBe(`${server.url}/v1/experiments/1`);
    // the same problem again by name: an error unless joining is asked for
    await expect(createStudy(experiment, { storage, token: TOKEN })).rejects.toThrow(/a study named 'js-api' exists on http:\/\/127\.0\.0\.1:\d+ \(id 1\)/);
    const joined = await createStudy(experiment, { storage, token: TOKEN, loadIfExists: true });
    expect(joined.id).toBe(1);
    const byUrl = await loadStudy(created.location as `http://${string}`, { token: TOKEN });
    const byId = await loadStudy(1, { storage, token: TOKEN });
    expect([byUrl.id, byId.id, byUrl.definition.metric, byId.definition.configSpace.fixed]).toEqual([1, 1, 'loss', 3]);
    // a token from the environment, taken out of it so that trials do not inherit it
    process.env.TUNELAB_TOKEN = TOKEN;
    const fromEnv = await loadStudy(created.location as `http://${string}`);
    expect(process.env.TUNELAB_TOKEN).toBeUndefined();

    const values: number[] = [];
    for (const study of [created, joined, byUrl, fromEnv]) {
      const s = (await study.ask())!;
      expect(s.config.fixed).toBe(3);
      expect(['a', 'b']).toContain(s.config.kind);
      expect(await study.report(s.suggestionId, 1, Number(s.config.x) * 2)).toBe('continue');
      values.push(Number(s.config.x));
      await study.tell(s.suggestionId, Number(s.config.x));
    }
    expect(await byId.ask()).toBeUndefined();
    const report = await byId.statusReport();
    expect(report).toMatchObject({ status: 'completed', observations: 4, storage: `${server.url}/v1/experiments/1` });
    expect((await byId.best())!.value).toBe(Math.min(...values));
    for (const s of [created, joined, byUrl, byId, fromEnv]) await s.close();
    // optimize over HTTP: two workers of this process, a throwing objective told as failed, the budget met exactly
    const second = await createStudy({ ...experiment, name: 'js-optimize', budget: { max_trials: 10 }, max_failures: 10 }, { storage, token: TOKEN });
    let calls = 0;
    const summary = await second.optimize(
      async (config) => {
        if (++calls % 4 === 0) throw new Error('an objective that fails');
        await new Promise((r) => setTimeout(r, 5));
        return Number(config.x);
      },
      { workers: 2 },
    );
    expect(summary).toEqual({ observations: 10, failed: 2, lost: 0 });
    const after = await second.statusReport();
    expect(after).toMatchObject({ status: 'completed', observations: 10, failed: 2 });
    expect(after.workers).toHaveLength(2);
    expect(after.workers.every((w) => w.pid === process.pid && w.state === 'exited' && w.succeeded + w.failed > 0)).toBe(true);
    await second.close();
    // a store URL still gives a Study
    const local = await createStudy(experiment, { storage: join(root, 'local.db') });
    expect(local).toBeInstanceOf(Study);
    await local.close();
  }, 60_000);
});

const hasSklearn = hasPython && spawnSync(PYTHON, ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
const SKLEARN_SKIP = `skipped: ${PYTHON} cannot import sklearn (apt-get install python3-sklearn)`;

describe('the scikit-learn example (examples/sklearn-digits)', () => {
  (hasSklearn ? it : it.skip)(hasSklearn ? 'tunes the digits MLP in one Python process (study.optimize, 2 threads) until the budget is met; the best is what the objective gives for its config' : `tunes the digits MLP in process (${SKLEARN_SKIP})`, async () => {
    const example = join(import.meta.dirname, '..', 'examples', 'sklearn-digits');
    const env = { ...withToken(), OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
    const r = spawnSync(PYTHON, [join(example, 'tune_digits.py'), '--server', server.url, '--budget', '8', '--workers', '2', '--method', 'BO'], { encoding: 'utf8', env, timeout: 150_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ observations: 8, here: { observations: 8, failed: 0, lost: 0 } });
    // every worker of the study was a thread of that one process
    const status = (await call(server.url, 'GET', `/v1/experiments/${result.experiment}/status`, undefined, { authorization: `Bearer ${TOKEN}` })).body;
    expect(status).toMatchObject({ status: 'completed', observations: 8 });
    expect(status.workers).toHaveLength(2);
    expect(new Set(status.workers.map((w: { pid: number }) => w.pid)).size).toBe(1);
    // the best observed is the objective's value at its config, computed again here
    const again = spawnSync(PYTHON, ['-c', `import json, sys; sys.path.insert(0, ${JSON.stringify(example)}); import digits; print(digits.objective(json.loads(sys.argv[1])))`, JSON.stringify(result.assignments)], { encoding: 'utf8', env });
    expect(again.status, again.stderr).toBe(0);
    expect(Number(again.stdout.trim())).toBeCloseTo(result.best, 12);
    expect(result.best).toBeLessThan(0.5);
  }, 180_000);
});
if (!hasSklearn) console.warn(SKLEARN_SKIP);
