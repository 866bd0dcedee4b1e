import type { CommandModule } from 'yargs';
import type { Format } from '../plotting/study.js';
import { resultsRoot } from '../results/layout.js';
import { resolveInside } from '../util/path-part.js';

interface PlotArgs {
  experiment_tag: string[];
  results_root?: string;
  setups?: string[];
  benchmarks?: string[];
  out: string;
  format: string[];
  agg: string;
  log_y: boolean;
  include_failed: boolean;
  include_unfinished: boolean;
  s3_bucket?: string;
  s3_prefix: string;
}

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot',
  describe: 'comparative figures and the final table of one or more studies',
  builder: (y) =>
    y
      .option('experiment_tag', { type: 'string', array: true, demandOption: true, describe: 'tag(s) of the studies to load' })
      .option('results_root', { type: 'string', describe: 'results root (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('setups', { type: 'string', array: true, describe: 'only these setups (methods as run in the study)' })
      .option('benchmarks', { type: 'string', array: true, describe: 'only these benchmarks' })
      .option('out', { type: 'string', default: 'tunelab-plots', describe: 'output folder' })
      .option('format', { type: 'string', array: true, choices: ['svg', 'png', 'html'], default: ['png', 'html'], describe: 'figure formats' })
      .option('agg', { type: 'string', choices: ['iqm', 'mean', 'median'], default: 'iqm', describe: 'aggregation over seeds' })
      .option('log_y', { type: 'boolean', default: false, describe: "the metric's axis on a log scale (default linear)" })
      .option('s3_bucket', { type: 'string', describe: 'load the studies from this S3 bucket (downloaded into <results_root>/.s3/<bucket>/)' })
      .option('s3_prefix', { type: 'string', default: 'tunelab', describe: 'S3 key prefix of the studies' })
      .option('include_failed', { type: 'boolean', default: false, describe: 'also plot runs whose status is failed' })
      .option('include_unfinished', { type: 'boolean', default: false, describe: 'also plot runs that did not finish (stopped, or running); a completed run of the same seed is still preferred' }) as never,
  handler: async (a) => {
    const { plotStudy } = await import('../plotting/study.js');
    const result = await plotStudy({
      tags: a.experiment_tag,
      root: a.s3_bucket ? resolveInside(resultsRoot(a.results_root), ['.s3', a.s3_bucket, a.s3_prefix], '--s3_bucket/--s3_prefix') : resultsRoot(a.results_root),
      s3: a.s3_bucket ? { location: { bucket: a.s3_bucket, prefix: a.s3_prefix } } : undefined,
      setups: a.setups,
      benchmarks: a.benchmarks,
      out: a.out,
      formats: a.format as Format[],
      agg: a.agg as 'iqm' | 'mean' | 'median',
      logY: a.log_y,
      includeFailed: a.include_failed,
      includeUnfinished: a.include_unfinished,
    });
    console.log(result.tableMarkdown);
    for (const f of result.files) console.log(f);
  },
};
