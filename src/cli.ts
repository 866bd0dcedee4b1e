#!/usr/bin/env node
import type { CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { blackboxCommand } from './commands/blackbox.js';
import { hpoMainCommand } from './commands/hpo-main.js';
import { sagemakerTrialCommand } from './commands/sagemaker-trial.js';
import { syncCommand } from './commands/sync.js';
import { cleanCommand } from './commands/clean.js';
import { jobsCommand } from './commands/jobs.js';
import { launchRemoteCommand } from './commands/launch-remote.js';
import { benchmarksCommand, methodsCommand } from './commands/list.js';
import { bestCommand, logsCommand, statusCommand, stopCommand, trialsCommand } from './commands/operate.js';
import { plotCommand } from './commands/plot.js';
import { runCommand } from './commands/run.js';
import { serverCommand } from './commands/server.js';
import { dashboardCommand } from './commands/dashboard.js';
import { studyCommand } from './commands/study.js';
import { usageFailure } from './commands/flags.js';
import { yargs } from './commands/yargs.js';
import { UserError } from './util/errors.js';
import { tunelabVersion } from './util/package-info.js';
import { ignoreClosedOutput } from './util/signals.js';

/** Every `tunelab` command; each lives in its own module under src/commands/. */
const commands: CommandModule<any, any>[] = [runCommand, hpoMainCommand, launchRemoteCommand, plotCommand, methodsCommand, benchmarksCommand, blackboxCommand, statusCommand, logsCommand, stopCommand, bestCommand, trialsCommand, studyCommand, serverCommand, dashboardCommand, jobsCommand, cleanCommand, syncCommand, sagemakerTrialCommand];

export async function main(argv: string[]): Promise<number> {
  const cli = yargs(argv)
    .scriptName('tunelab')
    .strict()
    // tunelab's own version (yargs' default reads the nearest package.json, the host project's when installed)
    .version(tunelabVersion)
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .command(commands)
    .demandCommand(1, `name a command: ${commands.map((c) => String(c.command).split(' ')[0]).join(', ')}`)
    .fail(usageFailure(argv))
    .help();
  try {
    await cli.parseAsync();
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`tunelab: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
  return 0;
}

ignoreClosedOutput();
let finished = false;
// nothing left to wait for, yet the command has not finished (a promise that can never settle): a
// bug, said aloud, never a silent exit 0 with the work undone
process.on('beforeExit', () => {
  if (finished) return;
  console.error(`tunelab: internal error: '${hideBin(process.argv)[0] ?? ''}' stopped before it finished (it was left waiting on nothing); please report it`);
  process.exit(70);
});
main(hideBin(process.argv)).then(
  (code) => {
    finished = true;
    if (code !== 0) process.exitCode = code;
  },
  (e) => {
    finished = true;
    console.error(e);
    process.exitCode = 1;
  },
);
