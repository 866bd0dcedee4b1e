/**
 * Executors on a local one-host Slurm (started as the tests start it: test/slurm-helpers.ts, needs
 * Debian's slurmctld, slurmd and munge) with the study on a local PostgreSQL:
 *  (a) submission overhead: SlurmExecutor.submit of --workers tasks (one `sbatch --parsable` of an
 *      array) against one task, median of --repeats (target: 64 workers under 2 s);
 *  (b) `tunelab study launch <study> --executor slurm` to the study's first observation (a trial of
 *      no work), against `--executor local` on the same kind of study, median of --repeats.
 * Usage: node dist/bench/executors.js [--workers 64] [--repeats 3]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopClusterWorkers } from '../src/executors/launch.js';
import { SlurmExecutor } from '../src/executors/slurm.js';
import { stopStudy } from '../src/study/status.js';
import { startLocalPostgres } from '../src/study/storage/local-postgres.js';
import { openStore } from '../src/study/storage/open.js';
import { createStudy } from '../src/study/study.js';
import { formatTable } from '../src/util/table.js';
import { slurmMissing, startSlurmCluster } from '../test/slurm-helpers.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const workers = flag('--workers', 64);
const repeats = flag('--repeats', 3);
const CLI = join(import.meta.dirname, '..', 'src', 'cli.js');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (slurmMissing.length > 0) {
  console.log(`no Slurm here (${slurmMissing.join(', ')} missing): nothing measured`);
  process.exit(0);
}

const cluster = await startSlurmCluster(8);
const pg = await startLocalPostgres();
const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-executors-'));
process.env.SLURM_CONF = cluster.env.SLURM_CONF;
process.env.TUNELAB_ROOT = root;
try {
  // (a) one sbatch of an array of N tasks against one of a single task
  const executor = new SlurmExecutor({ tunelab: ['/bin/true'] });
  const submit = async (n: number) => {
    const logDir = mkdtempSync(join(root, 'submit-'));
    const start = performance.now();
    const s = await executor.submit({ studyId: 1, studyName: 'bench', workers: n, args: [], secretEnv: {}, logDir });
    const ms = performance.now() - start;
    await executor.stop(s);
    return ms;
  };
  const one: number[] = [];
  const many: number[] = [];
  for (let r = 0; r < repeats; r++) {
    one.push(await submit(1));
    many.push(await submit(workers));
  }
  console.log(`(a) submission (sbatch --parsable of one array), median of ${repeats}:`);
  console.log(
    formatTable(
      ['workers', 'submit ms', 'per worker ms', 'vs 1 worker'],
      [
        [1, median(one).toFixed(0), median(one).toFixed(1), '1.00'],
        [workers, median(many).toFixed(0), (median(many) / workers).toFixed(2), (median(many) / median(one)).toFixed(2)],
      ],
    ),
  );
  console.log(`target: ${workers} workers under 2000 ms: ${median(many) < 2000 ? 'met' : 'missed'}`);

  // (b) study launch to the first observation
  const dir = mkdtempSync(join(root, 'study-'));
  writeFileSync(join(dir, 'trial.mjs'), `const c = JSON.parse(process.env.TUNELAB_CONFIG); console.log('[tunelab] ' + JSON.stringify({ loss: c.x }));\n`);
  const firstObservation = async (executorName: string, r: number) => {
    const file = join(dir, `${executorName}-${r}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name: `bench-${executorName}-${r}`,
        parameters: [{ name: 'x', type: 'double', bounds: { min: 0, max: 1 } }],
        metrics: [{ name: 'loss', objective: 'minimize', strategy: 'optimize' }],
        command: [process.execPath, 'trial.mjs'],
        method: 'RS',
        budget: { max_trials: 1000 },
        parallel_bandwidth: 2,
      }),
    );
    const study = await createStudy(file, { storage: pg.url });
    const store = await openStore(pg.url);
    try {
      const start = performance.now();
      const launch = spawn(process.execPath, [CLI, 'study', 'launch', String(study.id), '--workers', '2', '--executor', executorName], { env: { ...process.env, TUNELAB_STORAGE: pg.url }, stdio: 'ignore' });
      const launched = new Promise<number | null>((r) => launch.on('close', r));
      while ((await store.listObservations(study.id)).length === 0) await sleep(20);
      const ms = performance.now() - start;
      if ((await launched) !== 0) throw new Error(`study launch --executor ${executorName} failed`);
      await stopStudy(study, true);
      await stopClusterWorkers(study, true, root);
      return ms;
    } finally {
      await store.close();
      await study.close();
    }
  };
  const local: number[] = [];
  const slurm: number[] = [];
  for (let r = 0; r < repeats; r++) {
    local.push(await firstObservation('local', r));
    slurm.push(await firstObservation('slurm', r));
  }
  console.log(`\n(b) study launch to the first observation (2 workers, PostgreSQL), median of ${repeats}:`);
  console.log(
    formatTable(
      ['executor', 'ms', 'vs local'],
      [
        ['local', median(local).toFixed(0), '1.00'],
        ['slurm', median(slurm).toFixed(0), (median(slurm) / median(local)).toFixed(2)],
      ],
    ),
  );
} finally {
  cluster.stop();
  await pg.stop();
}
