import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';
import type { TrialListing } from '../operate/trials.js';
import { numberFlag, numeric } from './flags.js';

interface TargetArgs {
  experiment: string;
  results_root?: string;
}

function targetArgs<T>(y: Argv<T>) {
  return y
    .positional('experiment', { type: 'string', demandOption: true, describe: 'an experiment folder, or a tag under the results root' })
    .option('results_root', { type: 'string', describe: 'results root for a tag (default $TUNELAB_ROOT, else ~/tunelab)' });
}

/** The one folder logs/stop/best act on; for a tag, stderr says which. */
async function targetFolder(a: TargetArgs): Promise<string> {
  const { chooseFolder, resolveExperiment } = await import('../operate/folder.js');
  const resolved = resolveExperiment(a.experiment, a.results_root);
  const { folder, reason } = chooseFolder(resolved);
  if (resolved.tag !== undefined) console.error(`tunelab: tag '${resolved.tag}': ${folder} (${reason})`);
  return folder;
}

const positiveSeconds = (raw: unknown) => {
  const n = numeric('timeout')(raw);
  if (n <= 0) throw new UserError(`--timeout expects a positive number of seconds, got '${raw}'`);
  return n;
};

export const statusCommand: CommandModule<object, TargetArgs & { json: boolean }> = {
  command: 'status <experiment>',
  describe: "an experiment's status: owner, elapsed time, budget used, trials by state, failures, best trial (a tag: each of its folders)",
  builder: (y) => targetArgs(y).option('json', { type: 'boolean', default: false, describe: 'print one JSON object (ExperimentStatusReport; for a tag {tag, root, experiments})' }) as never,
  handler: async (a) => {
    const [{ resolveExperiment }, { experimentStatus, formatBest, formatStatus, formatStatusTable }, { bestOfTag, tagRuns }] = await Promise.all([
      import('../operate/folder.js'),
      import('../operate/status.js'),
      import('../operate/tag.js'),
    ]);
    const resolved = resolveExperiment(a.experiment, a.results_root);
    // one unreadable folder of a tag does not hide the others
    const readable = (folder: string) => {
      try {
        return [experimentStatus(folder)];
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        console.error(`tunelab: skipping ${e.message}`);
        return [];
      }
    };
    const reports = resolved.tag === undefined ? [experimentStatus(resolved.folders[0])] : resolved.folders.flatMap(readable);
    if (reports.length === 0) throw new UserError(`tag '${resolved.tag}': none of its ${resolved.folders.length} experiment folder(s) is readable`);
    if (resolved.tag === undefined) {
      console.log(a.json ? JSON.stringify(reports[0], null, 2) : formatStatus(reports[0]));
      return;
    }
    const bests = bestOfTag(tagRuns(reports.map((r) => r.folder), () => {}));
    if (a.json) {
      console.log(JSON.stringify({ tag: resolved.tag, root: resolved.root, experiments: reports, best: bests }, null, 2));
      return;
    }
    const bestText = bests.length
      ? bests.flatMap((b) => [`best of the tag on ${b.benchmark}, ${b.basis}: ${b.folder} (${b.method}, seed ${b.seed})`, ...formatBest(b).map((l) => `  ${l}`)])
      : ['no result in any of its runs yet'];
    console.log(`tag '${resolved.tag}': ${reports.length} experiment(s), newest first\n${formatStatusTable(reports)}\n\n${bestText.join('\n')}`);
  },
};

export const logsCommand: CommandModule<object, TargetArgs & { trial?: number; follow: boolean; stderr_only: boolean }> = {
  command: 'logs <experiment>',
  describe: "the trials' stdout/stderr logs, each line prefixed by its trial (local backend)",
  builder: (y) =>
    targetArgs(y)
      .option('trial', numberFlag('trial', "only this trial's logs", { integer: true }))
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep printing new lines until the experiment is no longer running' })
      .option('stderr_only', { alias: 'stderr-only', type: 'boolean', default: false, describe: 'only the stderr logs' }) as never,
  handler: async (a) => {
    const [{ resolveExperiment }, { followLogs, logsDir, printLogs, trialsWithLogs }, { formatTagRuns, logRuns, tagRuns }] = await Promise.all([
      import('../operate/folder.js'),
      import('../operate/logs.js'),
      import('../operate/tag.js'),
    ]);
    const resolved = resolveExperiment(a.experiment, a.results_root);
    // `tunelab logs x | head` closes the pipe early: that is the reader's choice, not an error
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(0);
    });
    const emit = (text: string) => void process.stdout.write(text);
    const options = { trial: a.trial, stderrOnly: a.stderr_only };
    const print = (folder: string) => {
      if (a.trial === undefined && trialsWithLogs(folder).length === 0) console.error(`tunelab: no trial logs in ${logsDir(folder)} (only the local backend writes them)`);
      printLogs(folder, options, emit);
    };
    if (resolved.tag === undefined) {
      if (a.follow) await followLogs(resolved.folders[0], options, emit);
      else print(resolved.folders[0]);
      return;
    }
    const runs = tagRuns(resolved.folders, (m) => console.error(`tunelab: skipping ${m}`));
    console.error(`tunelab: tag '${resolved.tag}': ${runs.length} run(s), newest first\n${formatTagRuns(runs)}`);
    const running = runs.find((r) => r.state === 'running');
    if (a.follow && running) {
      console.error(`tunelab: following ${running.folder} (${running.method}, seed ${running.seed}), the newest running run`);
      await followLogs(running.folder, options, emit);
      return;
    }
    const chosen = logRuns(runs);
    console.error(`tunelab: the logs of ${chosen.basis}`);
    for (const r of chosen.runs) {
      emit(`== ${r.folder} (${r.method}, seed ${r.seed}, ${r.state}) ==\n`);
      print(r.folder);
    }
  },
};

export const stopCommand: CommandModule<object, TargetArgs & { timeout: number }> = {
  command: 'stop <experiment>',
  describe: 'stop a running experiment (SIGTERM to its owner, which flushes and marks it stopped, resumable with --resume)',
  builder: (y) =>
    targetArgs(y).option('timeout', { requiresArg: true, default: 120, coerce: positiveSeconds, describe: 'seconds to wait for the owner to let go of the folder' }) as never,
  handler: async (a) => {
    const folder = await targetFolder(a);
    const [{ stopExperiment }, { describeOwner }, { describeStatus, formatStatus }] = await Promise.all([import('../operate/stop.js'), import('../operate/folder.js'), import('../operate/status.js')]);
    const { outcome, report } = await stopExperiment(folder, { timeoutSec: a.timeout, log: (l) => console.error(`tunelab: ${l}`) });
    if (outcome === 'owner-gone') {
      throw new UserError(`nothing to stop: ${folder} is recorded as running, but its owner is gone (${report.owner ? describeOwner(report.owner) : 'no lock'}); it can be resumed with --resume`, 1);
    }
    if (outcome === 'not-running') throw new UserError(`nothing to stop: ${folder} is not running (${describeStatus(report)})`, 1);
    console.log(formatStatus(report));
  },
};

export const bestCommand: CommandModule<object, TargetArgs & { json: boolean }> = {
  command: 'best <experiment>',
  describe: 'the best feasible trial (with several objectives, the Pareto front): its config, metric values, resource level and checkpoint folder',
  builder: (y) => targetArgs(y).option('json', { type: 'boolean', default: false, describe: 'print it as JSON (BestTrial)' }) as never,
  handler: async (a) => {
    const [{ resolveExperiment }, { bestOrFront }, { formatBest, formatFront }, { bestOfTag, formatTagRuns, tagRuns }] = await Promise.all([
      import('../operate/folder.js'),
      import('../operate/best.js'),
      import('../operate/status.js'),
      import('../operate/tag.js'),
    ]);
    const resolved = resolveExperiment(a.experiment, a.results_root);
    if (resolved.tag === undefined) {
      const folder = resolved.folders[0];
      const best = bestOrFront(folder);
      if (!best) throw new UserError(`no feasible result in ${folder} (yet)`, 1);
      if (a.json) console.log(JSON.stringify({ folder, ...('front' in best ? best.front : best.best) }, null, 2));
      else console.log([`best of ${folder}`, ...('front' in best ? formatFront(best.front) : formatBest(best.best))].join('\n'));
      return;
    }
    const runs = tagRuns(resolved.folders, (m) => console.error(`tunelab: skipping ${m}`));
    console.error(`tunelab: tag '${resolved.tag}': ${runs.length} run(s), newest first\n${formatTagRuns(runs)}`);
    const bests = bestOfTag(runs);
    if (bests.length === 0) throw new UserError(`tag '${resolved.tag}': no feasible result in any of its ${runs.length} run(s) (yet)`, 1);
    for (const b of bests) console.error(`tunelab: best of the tag on ${b.benchmark}, ${b.basis}: ${b.folder}`);
    if (a.json) console.log(JSON.stringify(bests.length === 1 ? bests[0] : bests, null, 2));
    else console.log(bests.flatMap((b) => [`best of tag '${resolved.tag}' on ${b.benchmark}: ${b.folder} (${b.method}, seed ${b.seed})`, ...formatBest(b)]).join('\n'));
  },
};

export const trialsCommand: CommandModule<object, TargetArgs & { json: boolean; state?: string[]; storage?: string }> = {
  command: 'trials <experiment>',
  describe: "an experiment's (or with --storage, a study's) trials: config, value, state, resource and worker (a tag: each run's, saying which run)",
  builder: (y) =>
    targetArgs(y)
      .option('json', { type: 'boolean', default: false, describe: 'print them as JSON (TrialListing[])' })
      .option('state', { type: 'string', array: true, requiresArg: true, describe: 'only trials in these states (e.g. completed failed)' })
      .option('storage', { type: 'string', describe: 'the study store (sqlite:PATH or postgresql://...): <experiment> is a study id or name' }) as never,
  handler: async (a) => {
    const { formatTrials } = await import('../operate/trials.js');
    let trials;
    let metric: string;
    if (a.storage !== undefined) {
      const [{ loadStudy }, { studyTrials }] = await Promise.all([import('../study/study.js'), import('../study/trials.js')]);
      const study = await loadStudy(a.experiment, { storage: a.storage });
      try {
        trials = await studyTrials(study);
        metric = study.definition.metric;
      } finally {
        await study.close();
      }
    } else {
      const [{ resolveExperiment }, { experimentTrials }, { loadMetadata }, { tagRuns }] = await Promise.all([import('../operate/folder.js'), import('../operate/trials.js'), import('../operate/folder.js'), import('../operate/tag.js')]);
      const resolved = resolveExperiment(a.experiment, a.results_root);
      if (resolved.tag !== undefined) {
        // a tag: each run's trials, newest run first, each under its folder, method, seed and state
        const runs = tagRuns(resolved.folders, (m) => console.error(`tunelab: skipping ${m}`));
        if (runs.length === 0) throw new UserError(`tag '${resolved.tag}': none of its ${resolved.folders.length} experiment folder(s) is readable`);
        const listed = runs.map((r) => ({ folder: r.folder, method: r.method, seed: r.seed, state: r.state, metric: loadMetadata(r.folder).metric, trials: experimentTrials(r.folder) }));
        checkStates(a.state, listed.flatMap((r) => r.trials));
        const only = (trials: TrialListing[]) => (a.state ? trials.filter((t) => a.state!.includes(t.state)) : trials);
        if (a.json) console.log(JSON.stringify({ tag: resolved.tag, root: resolved.root, runs: listed.map((r) => ({ ...r, trials: only(r.trials) })) }, null, 2));
        else console.log(listed.map((r) => `== ${r.folder} (${r.method}, seed ${r.seed}, ${r.state}): ${only(r.trials).length} trial(s) ==\n${formatTrials(only(r.trials), r.metric)}`).join('\n\n'));
        return;
      }
      trials = experimentTrials(resolved.folders[0]);
      metric = loadMetadata(resolved.folders[0]).metric;
    }
    checkStates(a.state, trials);
    const shown = a.state ? trials.filter((t) => a.state!.includes(t.state)) : trials;
    console.log(a.json ? JSON.stringify(shown, null, 2) : formatTrials(shown, metric));
  },
};

/** --state names trial states, or is a usage error naming the states of the trials shown. */
function checkStates(wanted: readonly string[] | undefined, trials: readonly TrialListing[]): void {
  const states = [...new Set(trials.map((t) => t.state))];
  for (const s of wanted ?? []) if (!['running', 'paused', 'stopped', 'completed', 'failed', 'ready', 'open', 'abandoned'].includes(s)) throw new UserError(`--state '${s}' is not a trial state; states here: ${states.join(', ')}`);
}
