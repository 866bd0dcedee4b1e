import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { cliPath, tempDir } from './helpers.js';
import { processesUnder, runCli, startProcess, until } from './study-helpers.js';

/**
 * A store that fails mid-run (issue 21, item 12): a study worker whose SQLite file's disk fills
 * during a lease renewal, or whose PostgreSQL server goes away for longer than --storage_timeout,
 * ends its trial, exits 1 with one line naming the store (its password masked), no stack trace,
 * and leaves no process behind; a status afterwards never shows it alive.
 */

const noStackTrace = /\n\s+at /;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** An experiment whose one trial marks that it runs (touching `started`), fills `$FILL` if set, then trains for 300 s. */
function experiment(dir: string): string {
  writeFileSync(
    join(dir, 'trial.sh'),
    `: > ${join(dir, 'started')}
if [ -n "\${FILL:-}" ]; then head -c 8000000 /dev/zero > "$FILL" 2>/dev/null; fi
exec sleep 300
`,
  );
  const file = join(dir, 'experiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'failing-store',
      parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
      metrics: [{ name: 'loss', objective: 'minimize' }],
      command: ['sh', join(dir, 'trial.sh')],
      method: 'RS',
      budget: { max_trials: 2 },
      parallel_bandwidth: 1,
      // renewed every third of a second: the renewal is what meets the failure first
      study: { lease_seconds: 1 },
    }),
  );
  return file;
}

const canMountTmpfs = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${tempDir()}`]).status === 0;

describe('a study store that fails under a running worker', () => {
  it.skipIf(!canMountTmpfs)('SQLite on a disk that fills: exit 1, one line naming the store file, the trial ended, the worker never shown alive', () => {
    const work = tempDir();
    const mnt = join(work, 'mnt');
    const file = experiment(work);
    const db = join(mnt, 'studies.db');
    const cli = `"${process.execPath}" ${cliPath}`;
    // the tmpfs lives as long as the namespace: the status after the failure is taken inside it
    const script = `set -u
mkdir -p ${mnt} && mount -t tmpfs -o size=2m tmpfs ${mnt} || exit 99
${cli} study create -f ${file} --storage ${db} > ${work}/create.out 2> ${work}/create.err || exit 98
FILL=${mnt}/filler TUNELAB_ROOT=${work}/results ${cli} study worker 1 --storage ${db} > ${work}/worker.out 2> ${work}/worker.err
echo $? > ${work}/worker.rc
rm -f ${mnt}/filler
sleep 1.5
${cli} study status 1 --json --storage ${db} > ${work}/status.json 2> ${work}/status.err`;
    const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const read = (name: string) => readFileSync(join(work, name), 'utf8');
    expect(existsSync(join(work, 'started'))).toBe(true);
    expect(read('worker.rc').trim()).toBe('1');
    const err = read('worker.err');
    expect(err).not.toMatch(noStackTrace);
    expect(err).toMatch(new RegExp(`^tunelab: study store sqlite://${db}: \\w+ failed: SQLITE_FULL: database or disk is full\\n$`));
    // its trial was ended with it
    expect(processesUnder([work]).filter((p) => p.includes('sleep 300'))).toEqual([]);
    // whether or not the full disk let it record its exit, the worker is never shown as alive
    const status = JSON.parse(read('status.json'));
    expect(status.workers).toHaveLength(1);
    expect(status.workers[0].state).toMatch(/^(exited|lost)$/);
  });

  it('PostgreSQL gone for longer than --storage_timeout: exit 1, one last line naming the server without its password, the trial ended', async () => {
    const server = await startLocalPostgres();
    const work = tempDir();
    const password = server.url.match(/:([^:@/]+)@/)![1];
    try {
      const created = runCli(work, ['study', 'create', '-f', experiment(work), '--storage', server.url]);
      expect(created.code, created.stderr).toBe(0);
      const worker = startProcess(work, children, [cliPath, 'study', 'worker', created.stdout.trim(), '--storage', server.url, '--storage_timeout', '2']);
      await until('the trial to start', () => existsSync(join(work, 'started')));
      await server.stop();
      expect(await worker.exited).toBe(1);
      const { stdout, stderr } = worker.out;
      expect(stderr).not.toMatch(noStackTrace);
      expect(stdout + stderr).not.toContain(password);
      const last = stderr.trim().split('\n').pop()!;
      expect(last).toMatch(new RegExp(`^tunelab: cannot reach the study store postgresql://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}/tunelab: .+--storage_timeout sets how long to keep trying\\)$`));
      expect(processesUnder([work]).filter((p) => p.includes('sleep 300'))).toEqual([]);
    } finally {
      await server.stop().catch(() => undefined);
    }
  });
});
