import type { CommandModule } from 'yargs';

interface SyncArgs {
  experiment_tag: string[];
  s3_bucket: string;
  s3_prefix: string;
  results_root?: string;
  upload: boolean;
  follow_symlinks: boolean;
}

export const syncCommand: CommandModule<object, SyncArgs> = {
  command: 'sync',
  describe: "download a study's experiment folders from S3 (metadata, results, checkpoints, logs), only what changed; --upload the other way",
  builder: (y) =>
    y
      .option('experiment_tag', { type: 'string', array: true, demandOption: true, describe: 'the study (or studies)' })
      .option('s3_bucket', { type: 'string', demandOption: true, describe: 'the bucket the study streams to' })
      .option('s3_prefix', { type: 'string', default: 'tunelab', describe: 'S3 key prefix' })
      .option('results_root', { type: 'string', describe: 'local results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('upload', { type: 'boolean', default: false, describe: 'upload local folders to S3 instead (regular files only: symbolic links are skipped, each named)' })
      .option('follow_symlinks', { type: 'boolean', default: false, describe: 'with --upload: upload what a symbolic link points to when that lies inside its experiment folder' }),
  handler: async (a) => {
    const [{ syncStudy }, { resultsRoot }, { s3Client }] = await Promise.all([import('../cloud/sync.js'), import('../results/layout.js'), import('../results/s3.js')]);
    const root = resultsRoot(a.results_root);
    const r = await syncStudy({ client: s3Client(), location: { bucket: a.s3_bucket, prefix: a.s3_prefix }, tags: a.experiment_tag, root, upload: a.upload, followSymlinks: a.follow_symlinks });
    const where = `s3://${a.s3_bucket}/${a.s3_prefix}/`;
    console.log(`${a.upload ? 'uploaded' : 'downloaded'} ${r.transferred} file(s) (${(r.bytes / 1e6).toFixed(2)} MB) ${a.upload ? `from ${root} to ${where}` : `from ${where} to ${root}`}; ${r.skipped} unchanged; ${r.origin.size} experiment folder(s)${r.refused ? `; ${r.refused} left out (named above)` : ''}`);
  },
};
