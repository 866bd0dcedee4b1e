import type { CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';

interface TrialArgs {
  report_uri: string;
  sync_interval: number;
  _: (string | number)[];
  '--'?: (string | number)[];
}

export const sagemakerTrialCommand: CommandModule<object, TrialArgs> = {
  command: 'sagemaker-trial',
  describe: "inside a SageMaker trial's container: run the training command and stream its [tunelab] report lines to S3 (the SageMaker trial backend starts this)",
  builder: (y) =>
    y
      .parserConfiguration({ 'populate--': true })
      .option('report_uri', { type: 'string', demandOption: true, describe: 's3://bucket/key the report lines are uploaded to' })
      .option('sync_interval', { type: 'number', default: 10, describe: 'seconds between uploads' }),
  handler: async (a) => {
    const command = (a['--'] ?? []).map(String);
    if (command.length === 0) throw new UserError('sagemaker-trial needs the training command after --');
    if (!(a.sync_interval > 0)) throw new UserError(`--sync_interval must be a positive number, got ${a.sync_interval}`);
    const { runReportingTrial } = await import('../cloud/trial-report.js');
    process.exitCode = await runReportingTrial({ command, reportUri: a.report_uri, interval: a.sync_interval });
  },
};
