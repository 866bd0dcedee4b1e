import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/study/storage/local-postgres.js';
import { procPids, procStat, readProcText } from '../src/util/proc.js';

/** The built CLI, beside this bench's build. */
export const benchCli = join(fileURLToPath(import.meta.url), '..', '..', 'src', 'cli.js');

/**
 * `tunelab server` on a free loopback port over `storage`, waited for until it answers; `cli` may
 * be another build's (a baseline measured in the same run), `profileDir` gets its CPU profile.
 */
export async function startServer(storage: string, options: { cli?: string; profileDir?: string } = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, options.cli ?? benchCli, 'server', '--storage', storage, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    if (await fetch(`${url}/openapi.json`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU ms (user + system) a process has used so far; Linux clock ticks are 10 ms. */
export function cpuMs(pid: number): number {
  return (procStat(pid)?.cpuTicks ?? NaN) * 10;
}

/**
 * CPU ms (user + system) the PostgreSQL server whose data folder is `dataDir` has used so far: its
 * postmaster and the backends it forked (the backends of the pool live as long as the run).
 */
export function postgresCpuMs(dataDir: string): number {
  // a process may end between the listing and the read
  const read = (path: string) => {
    try {
      return readProcText(path);
    } catch {
      return '';
    }
  };
  const pids = procPids();
  const postmaster = pids.find((p) => read(`/proc/${p}/cmdline`).split('\0').includes(dataDir));
  if (!postmaster) return NaN;
  const ppid = (p: string) => Number(read(`/proc/${p}/stat`).replace(/^.*\) /s, '').split(' ')[1]);
  return [postmaster, ...pids.filter((p) => ppid(p) === Number(postmaster))].reduce((sum, p) => sum + cpuMs(Number(p)), 0);
}
