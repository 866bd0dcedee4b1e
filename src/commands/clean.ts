import type { CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';

interface CleanArgs {
  experiment_tag: string;
  method?: string[];
  seeds?: number[];
  status?: string;
  results_root?: string;
  s3_bucket?: string;
  s3_prefix: string;
  yes: boolean;
}

const seedList = (raw: unknown) =>
  ([] as unknown[]).concat(raw).map((v) => {
    const n = Number(v);
    if (v === '' || !Number.isInteger(n) || n < 0) throw new UserError(`--seeds expects non-negative integers, got '${v}'`);
    return n;
  });

export const cleanCommand: CommandModule<object, CleanArgs> = {
  command: 'clean',
  describe: "delete a study's experiment folders that match (method, seed, status), locally and in S3, after confirmation",
  builder: (y) =>
    y
      .option('experiment_tag', { type: 'string', demandOption: true, describe: 'the study' })
      .option('method', { type: 'string', array: true, describe: 'only these methods' })
      .option('seeds', { type: 'string', array: true, coerce: seedList, describe: 'only these seeds' })
      .option('status', { type: 'string', choices: ['failed', 'running', 'stopped', 'completed'], describe: 'only experiments with this status' })
      .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('s3_bucket', { type: 'string', describe: 'also delete the matching folders in this bucket' })
      .option('s3_prefix', { type: 'string', default: 'tunelab', describe: 'S3 key prefix' })
      .option('yes', { type: 'boolean', default: false, describe: 'delete without asking' }),
  handler: async (a) => {
    const [{ localTargets, s3Targets, deleteTargets }, { resultsRoot }, { s3Client }, { formatTable }] = await Promise.all([
      import('../cloud/clean.js'),
      import('../results/layout.js'),
      import('../results/s3.js'),
      import('../util/table.js'),
    ]);
    const filter = { tag: a.experiment_tag, methods: a.method, seeds: a.seeds, status: a.status as 'failed' | undefined };
    const client = a.s3_bucket ? s3Client() : undefined;
    const targets = [...localTargets(resultsRoot(a.results_root), filter), ...(client ? await s3Targets(client, { bucket: a.s3_bucket!, prefix: a.s3_prefix }, filter) : [])];
    if (targets.length === 0) {
      console.log('no experiment folder matches');
      return;
    }
    console.log(formatTable(['where', 'method', 'seed', 'status', 'folder'], targets.map((t) => [t.where, t.method, t.seed, t.status, t.skip ? `${t.path} (kept: ${t.skip})` : t.path])));
    const n = targets.filter((t) => !t.skip).length;
    if (n === 0) return;
    if (!a.yes) {
      if (!process.stdin.isTTY) throw new UserError(`nothing deleted: no terminal to confirm on; pass --yes to delete these ${n} folder(s)`, 1);
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question(`delete these ${n} folder(s)? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        console.log('nothing deleted');
        return;
      }
    }
    const deleted = await deleteTargets(targets, client && { client, bucket: a.s3_bucket! });
    console.log(`deleted ${deleted} folder(s)`);
  },
};
