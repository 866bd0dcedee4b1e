import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

/** Debian's slurm-wlm daemons and munge, which `.ci/run` installs; the tests that need them skip without them. */
const BINARIES = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', '/usr/bin/sbatch'];
export const slurmMissing = BINARIES.filter((b) => !existsSync(b));
if (slurmMissing.length > 0) console.warn(`skipping the Slurm tests: ${slurmMissing.join(', ')} missing (apt-get install slurmctld slurmd slurm-client munge, as .ci/run does)`);

export interface SlurmCluster {
  /** The environment Slurm's commands need (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): void;
}

const pidOf = (file: string) => (existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined);

/**
 * A one-host Slurm cluster on loopback: munged on a socket of its own, slurmctld and slurmd with a
 * generated slurm.conf in a temporary folder declaring `cpus` CPUs (config_overrides: more than the
 * machine has), every daemon as root. Ready when `sinfo` shows the node idle.
 */
export async function startSlurmCluster(cpus = 8): Promise<SlurmCluster> {
  // the ports are free when drawn, not when the daemons bind them: another test's cluster starting at
  // the same time may take one first (slurmctld then reports it is "talking with itself"); new ports then
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSlurmClusterOnce(cpus);
    } catch (e) {
      if (attempt >= 3 || !/talking with itself|Address already in use/.test(String(e))) throw e;
    }
  }
}

/** Two distinct free loopback ports (both held until both are drawn). */
async function twoFreePorts(): Promise<[number, number]> {
  const servers = [createServer(), createServer()];
  const ports = await Promise.all(servers.map((srv) => new Promise<number>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
  })));
  await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  return [ports[0], ports[1]];
}

async function startSlurmClusterOnce(cpus: number): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-slurm-'));
  for (const sub of ['munge', 'state', 'spool', 'log']) mkdirSync(join(dir, sub));
  chmodSync(join(dir, 'munge'), 0o755);
  const key = join(dir, 'munge', 'munge.key');
  writeFileSync(key, execFileSync('head', ['-c', '1024', '/dev/urandom']), { mode: 0o600 });
  const socket = join(dir, 'munge', 'munge.sock');
  execFileSync('/usr/sbin/munged', ['-f', `--socket=${socket}`, `--key-file=${key}`, `--log-file=${join(dir, 'log', 'munged.log')}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`, `--seed-file=${join(dir, 'munge', 'seed')}`]);
  const [ctldPort, dPort] = await twoFreePorts();
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=tunelab-test',
      'SlurmctldHost=localhost(127.0.0.1)',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SlurmdParameters=config_overrides',
      'ReturnToService=2',
      'MpiDefault=none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'PlugStackConfig=/dev/null',
      // the scheduler looks at pending tasks every second, not every 60
      'SchedulerParameters=sched_interval=1,bf_interval=1',
      'MinJobAge=600',
      `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=4000 State=UNKNOWN`,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  execFileSync('/usr/sbin/slurmctld', ['-f', conf, '-i'], { env });
  execFileSync('/usr/sbin/slurmd', ['-f', conf, '-N', 'localhost'], { env });
  const cluster: SlurmCluster = {
    env,
    dir,
    stop() {
      // tasks end (slurmd kills them) before the daemons do
      spawnSync('scancel', ['--user=root'], { env, timeout: 10_000 });
      for (let i = 0; i < 50 && spawnSync('squeue', ['-h'], { env, encoding: 'utf8', timeout: 10_000 }).stdout.trim() !== ''; i++) spawnSync('sleep', ['0.2']);
      for (const pidFile of ['slurmd.pid', 'slurmctld.pid', join('munge', 'munged.pid')]) {
        const pid = pidOf(join(dir, pidFile));
        if (pid) spawnSync('kill', ['-9', String(pid)]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < 100; i++) {
    const sinfo = spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8', timeout: 10_000 });
    if (sinfo.stdout.trim() === 'idle') return cluster;
    await new Promise((r) => setTimeout(r, 200));
  }
  const log = readFileSync(join(dir, 'log', 'slurmctld.log'), 'utf8').split('\n').slice(-10).join('\n');
  cluster.stop();
  throw new Error(`the test Slurm cluster did not come up:\n${log}`);
}
