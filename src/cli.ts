#!/usr/bin/env node
import type { CommandModule } from 'yargs';
import { usageFailure } from './commands/flags.js';
import { hideBin, yargs } from './commands/yargs.js';
import { UserError } from './util/errors.js';
import { tunelabVersion } from './util/package-info.js';
import { ignoreClosedOutput } from './util/signals.js';

type Command = CommandModule<any, any>;

/**
 * Every `tunelab` command by name, in the order help lists them; each lives in its own module under
 * src/commands/ and is loaded only when needed: a command's modules are most of its start-up time.
 */
const commandLoaders: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  'hpo-main': async () => (await import('./commands/hpo-main.js')).hpoMainCommand,
  'launch-remote': async () => (await import('./commands/launch-remote.js')).launchRemoteCommand,
  plot: async () => (await import('./commands/plot.js')).plotCommand,
  methods: async () => (await import('./commands/list.js')).methodsCommand,
  benchmarks: async () => (await import('./commands/list.js')).benchmarksCommand,
  blackbox: async () => (await import('./commands/blackbox.js')).blackboxCommand,
  status: async () => (await import('./commands/operate.js')).statusCommand,
  logs: async () => (await import('./commands/operate.js')).logsCommand,
  stop: async () => (await import('./commands/operate.js')).stopCommand,
  best: async () => (await import('./commands/operate.js')).bestCommand,
  trials: async () => (await import('./commands/operate.js')).trialsCommand,
  study: async () => (await import('./commands/study.js')).studyCommand,
  server: async () => (await import('./commands/server.js')).serverCommand,
  dashboard: async () => (await import('./commands/dashboard.js')).dashboardCommand,
  jobs: async () => (await import('./commands/jobs.js')).jobsCommand,
  clean: async () => (await import('./commands/clean.js')).cleanCommand,
  sync: async () => (await import('./commands/sync.js')).syncCommand,
  'sagemaker-trial': async () => (await import('./commands/sagemaker-trial.js')).sagemakerTrialCommand,
};

/**
 * The commands yargs needs for these arguments: the one they name first, alone (its help and errors
 * are the same as with all of them there); every one for anything else (help, version, a typo to
 * suggest a command for).
 */
async function commandsFor(argv: readonly string[]): Promise<Command[]> {
  const named = argv[0];
  if (named !== undefined && Object.hasOwn(commandLoaders, named)) return [await commandLoaders[named]()];
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}

export async function main(argv: string[]): Promise<number> {
  const commands = await commandsFor(argv);
  const cli = yargs(argv)
    .scriptName('tunelab')
    .strict()
    // tunelab's own version (yargs' default reads the nearest package.json, the host project's when installed)
    .version(tunelabVersion)
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .command(commands)
    .demandCommand(1, `name a command: ${Object.keys(commandLoaders).join(', ')}`)
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
