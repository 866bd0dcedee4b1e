import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../util/errors.js';
import { signalExitCode } from '../util/signals.js';
import { TOKEN_FILE_FLAG, numeric, tokenFromFile } from './flags.js';
import { studyLaunch } from './study-launch.js';
import type { StudyOverview } from '../study/handle.js';

/**
 * `tunelab study create | worker | launch | status | logs | stop | delete | open | list | export | best` (DESIGN.md §7).
 * src/study is imported when a subcommand runs, so that `tunelab --help` loads no database driver.
 */

interface StoreArgs {
  storage?: string;
  storage_timeout: number;
}

interface StudyArgs extends StoreArgs {
  study: string;
}

function storeFlags<T>(y: Argv<T>) {
  return y
    .option('storage', { type: 'string', describe: 'the study store: a SQLite file (default <results root>/studies.db) or postgresql://user:password@host:port/db' })
    .option('storage_timeout', { type: 'string', default: '30', coerce: numeric('storage_timeout'), describe: 'seconds to keep retrying an unreachable store (with backoff) before giving up' });
}

const studyPositional = <T>(y: Argv<T>) => storeFlags(y).positional('study', { type: 'string', demandOption: true, describe: 'the study: its id or name' });

const onRetry = (line: string) => console.error(`tunelab: ${line}`);

async function open(a: StudyArgs) {
  const [{ loadStudy }, { isServerUrl }] = await Promise.all([import('../study/study.js'), import('../study/handle.js')]);
  if (isServerUrl(a.study) || (a.storage !== undefined && isServerUrl(a.storage))) {
    throw new UserError(`this command works on a store (sqlite: or postgresql://); on a study server, use tunelab study status | logs | stop | best | worker, or the server's REST API`);
  }
  return loadStudy(a.study, { storage: a.storage, storageTimeout: a.storage_timeout, onRetry });
}

interface OverviewArgs extends StudyArgs {
  token_file?: string;
}

/** The study in a store, or on a study server (<study> its URL, or its id with --storage the server's URL). */
async function overview(a: OverviewArgs): Promise<StudyOverview> {
  const { loadStudy } = await import('../study/study.js');
  return loadStudy(a.study, { storage: a.storage, storageTimeout: a.storage_timeout, onRetry, token: tokenFromFile(a.token_file) });
}

/** `<study>` and --token_file of the commands that also reach a study on a server. */
const overviewPositional = <T>(y: Argv<T>) =>
  storeFlags(y)
    .positional('study', { type: 'string', demandOption: true, describe: "the study: its id or name, or a study server's URL http://host:port/v1/experiments/<id>" })
    .option('token_file', TOKEN_FILE_FLAG);

const create: CommandModule<object, StoreArgs & { file: string; name?: string }> = {
  command: 'create',
  describe: 'put an experiment file in the store as a new study; prints its id',
  builder: (y) =>
    storeFlags(y)
      .option('file', { alias: 'f', type: 'string', demandOption: true, describe: 'the experiment file (experiment.yml, .yaml or .json)' })
      .option('name', { type: 'string', describe: "the study's name (default: the experiment's name)" }) as never,
  handler: async (a) => {
    const { createStudy } = await import('../study/study.js');
    const study = await createStudy(a.file, { storage: a.storage, storageTimeout: a.storage_timeout, name: a.name, onRetry });
    try {
      console.error(`tunelab: study ${study.id} '${study.name}' (${study.method}) created in ${study.store.url}; start workers with: tunelab study worker ${study.id} --storage '${study.store.url}'`);
      console.log(study.id);
    } finally {
      await study.close();
    }
  },
};

const worker: CommandModule<object, StudyArgs & { token_file?: string; '--'?: string[]; _: (string | number)[] }> = {
  command: 'worker <study>',
  describe: "run suggestions of a study until its budget is met or it is stopped: the file's command, or the one after --. <study>: an id or name in --storage, or a study server's URL http://host:port/v1/experiments/<id>",
  builder: (y) =>
    overviewPositional(y)
      .parserConfiguration({ 'populate--': true })
      .usage('$0 study worker <study | http://host:port/v1/experiments/<id>> [--storage URL] [--token_file F] [-- <command...>]') as never,
  handler: async (a) => {
    const [{ runStudyWorker, workerSummaryLine }, { STORAGE_ENV }] = await Promise.all([import('../study/worker.js'), import('../study/storage/open.js')]);
    const command = a['--'] && a['--'].length > 0 ? a['--'].map(String) : undefined;
    const token = tokenFromFile(a.token_file);
    // the store's URL (and its password) is the worker's, not its trials'
    const storage = a.storage ?? process.env[STORAGE_ENV];
    delete process.env[STORAGE_ENV];
    const summary = await runStudyWorker({ study: a.study, storage, storageTimeout: a.storage_timeout, command, token, onRetry, log: (line) => console.log(line) });
    console.log(workerSummaryLine(summary));
    if (summary.reason === 'failures') process.exitCode = 1;
    // USR1 is a cluster's notice (time limit, preemption): the worker gave its trial back and ends cleanly
    if (summary.reason === 'signal' && summary.signal !== 'SIGUSR1') process.exitCode = signalExitCode(summary.signal ?? 'SIGTERM');
  },
};

const status: CommandModule<object, OverviewArgs & { json: boolean }> = {
  command: 'status <study>',
  describe: 'observations done / budget, failed, open; per worker and host: running, succeeded, failed; the best so far',
  builder: (y) => overviewPositional(y).option('json', { type: 'boolean', default: false, describe: 'print one JSON object (StudyStatusReport)' }) as never,
  handler: async (a) => {
    const [{ formatStudyStatus }, { clusterWorkers, formatClusterWorkers }] = await Promise.all([import('../study/status.js'), import('../executors/launch.js')]);
    const study = await overview(a);
    try {
      const [report, cluster] = await Promise.all([study.statusReport(), clusterWorkers(study)]);
      console.log(a.json ? JSON.stringify(cluster.length ? { ...report, cluster } : report, null, 2) : [formatStudyStatus(report), ...(cluster.length ? [formatClusterWorkers(cluster)] : [])].join('\n\n'));
    } finally {
      await study.close();
    }
  },
};

const logs: CommandModule<object, OverviewArgs & { follow: boolean }> = {
  command: 'logs <study>',
  describe: "every trial's output, each line prefixed by worker and trial",
  builder: (y) => overviewPositional(y).option('follow', { type: 'boolean', default: false, describe: 'keep printing new lines until the study ends (Ctrl-C to leave)' }) as never,
  handler: async (a) => {
    const [{ studyLogs }, { submissionsOf, clusterWorkers }, { followWorkerOutput }] = await Promise.all([import('../study/logs.js'), import('../executors/launch.js'), import('../executors/follow.js')]);
    const study = await overview(a);
    const abort = new AbortController();
    const leave = () => abort.abort();
    process.once('SIGINT', leave);
    try {
      // the trials' lines from the store, and beside them each executor worker's own output (prefixed by its worker) read from this machine
      const submissions = submissionsOf(study);
      let trialsDone = false;
      const workersEnded = async () => (await clusterWorkers(study)).every((c) => c.error !== undefined || c.workers.every((w) => w.state !== 'pending' && w.state !== 'running'));
      await Promise.all([
        studyLogs(study, { follow: a.follow, signal: abort.signal }).finally(() => (trialsDone = true)),
        submissions.length > 0 && followWorkerOutput(submissions, (line) => console.log(line), { signal: abort.signal, done: async () => !a.follow || (trialsDone && (await workersEnded())) }),
      ]);
    } finally {
      process.off('SIGINT', leave);
      await study.close();
    }
  },
};

const stop: CommandModule<object, OverviewArgs & { abandon: boolean }> = {
  command: 'stop <study>',
  describe: 'stop the study: workers finish their current trial (or abandon it with --abandon) and exit',
  builder: (y) => overviewPositional(y).option('abandon', { type: 'boolean', default: false, describe: 'end running trials at once; their suggestions are abandoned' }) as never,
  handler: async (a) => {
    const { stopClusterWorkers } = await import('../executors/launch.js');
    const study = await overview(a);
    try {
      await study.stop(a.abandon);
      console.log(`study ${study.id} '${study.name}': stopped; workers ${a.abandon ? 'abandon their trials' : 'finish their current trial'} and exit`);
      // then the cluster: with --abandon every worker now, else those not yet started
      const submissions = await stopClusterWorkers(study, a.abandon);
      if (submissions > 0) console.log(`study ${study.id}: ${a.abandon ? 'ended the workers' : 'withdrew the workers not yet started'} of ${submissions} executor submission(s)`);
    } finally {
      await study.close();
    }
  },
};

const deleteCommand: CommandModule<object, StudyArgs & { data: boolean }> = {
  command: 'delete <study>',
  describe: "end the study's workers on every executor (scancel; the Kubernetes Job and Secret deleted); with --data, remove the study and all its rows from the store too",
  builder: (y) => studyPositional(y).option('data', { type: 'boolean', default: false, describe: "also remove the study from the store (suggestions, observations, reports, logs) and its workers' output here" }) as never,
  handler: async (a) => {
    const [{ stopStudy }, { deleteClusterWorkers }] = await Promise.all([import('../study/status.js'), import('../executors/launch.js')]);
    const study = await open(a);
    try {
      // workers no executor of this machine started (joined by hand elsewhere) end at their next renewal
      if (a.data) await stopStudy(study, true);
      const submissions = await deleteClusterWorkers(study, a.data);
      if (a.data && !(await study.store.deleteStudy(study.id))) throw new UserError(`study ${study.id} is no longer in ${study.store.url}`, 1);
      console.log(`study ${study.id} '${study.name}': ${submissions > 0 ? `the workers of ${submissions} executor submission(s) ended` : 'no executor submission here'}${a.data ? `; the study and its data removed from ${study.store.url}` : ''}`);
    } finally {
      await study.close();
    }
  },
};

const openCommand: CommandModule<object, StudyArgs & { delete?: number[] }> = {
  command: 'open <study>',
  describe: "list the study's open (and ready) suggestions; --delete abandons some of them",
  builder: (y) =>
    studyPositional(y).option('delete', {
      type: 'string',
      array: true,
      coerce: (raw: unknown[]) => raw.map((v) => numeric('delete', { integer: true })(v)),
      describe: 'suggestion ids to abandon (they do not count towards the budget)',
    }) as never,
  handler: async (a) => {
    const { formatSuggestions } = await import('../study/status.js');
    const study = await open(a);
    try {
      if (a.delete?.length) {
        const done = await study.store.abandon(study.id, a.delete);
        const missed = a.delete.filter((id) => !done.includes(id));
        console.log(`abandoned ${done.length ? done.join(', ') : 'nothing'}`);
        if (missed.length) throw new UserError(`suggestion(s) ${missed.join(', ')} of study ${study.id} are not open or ready`);
        return;
      }
      console.log(formatSuggestions(await study.store.listSuggestions(study.id, ['open', 'ready']), await study.store.now()));
    } finally {
      await study.close();
    }
  },
};

const list: CommandModule<object, StoreArgs> = {
  command: 'list',
  describe: 'the studies of the store',
  builder: (y) => storeFlags(y) as never,
  handler: async (a) => {
    const { openStore } = await import('../study/storage/open.js');
    const { formatStudyList } = await import('../study/status.js');
    const store = await openStore(a.storage, { storageTimeout: a.storage_timeout, onRetry });
    try {
      console.log(formatStudyList(await store.listStudies()));
    } finally {
      await store.close();
    }
  },
};

const exportCommand: CommandModule<object, StudyArgs & { out?: string }> = {
  command: 'export <study>',
  describe: 'write the study as an experiment folder (metadata.json, results.csv.gz) under <out>/<name>/, for tunelab plot',
  builder: (y) => studyPositional(y).option('out', { type: 'string', describe: 'results root to write under (default $TUNELAB_ROOT, else ~/tunelab)' }) as never,
  handler: async (a) => {
    const { exportStudy } = await import('../study/export.js');
    const study = await open(a);
    try {
      const folder = await exportStudy(study, { root: a.out });
      console.log(folder);
    } finally {
      await study.close();
    }
  },
};

const best: CommandModule<object, OverviewArgs & { json: boolean }> = {
  command: 'best <study>',
  describe: 'the best feasible observation and its config; with several objectives the Pareto front, each point with its suggestion and config',
  builder: (y) => overviewPositional(y).option('json', { type: 'boolean', default: false, describe: 'print it as JSON' }) as never,
  handler: async (a) => {
    const { formatBest, formatFront } = await import('../study/status.js');
    const study = await overview(a);
    try {
      if (study.definition.objectives.length > 1) {
        const front = await study.front();
        console.log(a.json ? JSON.stringify(front ?? null, null, 2) : formatFront(study, front));
        if (!front?.points.length) process.exitCode = 1;
        return;
      }
      const b = await study.best();
      console.log(a.json ? JSON.stringify(b ?? null, null, 2) : formatBest(study, b));
      if (!b) process.exitCode = 1;
    } finally {
      await study.close();
    }
  },
};

const subcommands = [create, worker, studyLaunch, status, logs, stop, deleteCommand, openCommand, list, exportCommand, best];

export const studyCommand: CommandModule = {
  command: 'study',
  describe: 'parallel tuning on a shared study (SQLite or PostgreSQL store, or a study server: worker, launch, status, logs, stop, best): create, worker, status, logs, stop, open, list, export, best',
  builder: (y) => y.command(subcommands as CommandModule<object, never>[]).demandCommand(1, `name a study command: ${subcommands.map((c) => String(c.command).split(' ')[0]).join(', ')}`),
  handler: () => undefined,
};
