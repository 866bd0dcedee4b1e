import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { resultsRoot } from '../results/layout.js';
import { STORAGE_ENV, defaultStorage } from '../study/storage/open.js';
import { nextCloseSignal } from '../util/signals.js';
import { numberFlag } from './flags.js';

/**
 * `tunelab dashboard [--storage URL]… [--results_root DIR] [--host 127.0.0.1] [--port 8080]`: the
 * live dashboard alone, read-only over any number of study stores and a results root. The server
 * and the stores are loaded when the command runs.
 */

interface DashboardArgs {
  storage?: string[];
  results_root?: string;
  host: string;
  port: number;
  token_file?: string;
  storage_timeout: number;
}

/** The stores to show: those given, else $TUNELAB_STORAGE, else the results root's studies.db when it exists. */
export function dashboardStorages(given: readonly string[] | undefined, root: string): string[] {
  if (given && given.length > 0) return [...given];
  const env = process.env[STORAGE_ENV];
  if (env) return [env];
  const file = defaultStorage(root);
  return existsSync(file) ? [file] : [];
}

export const dashboardCommand: CommandModule<object, DashboardArgs> = {
  command: 'dashboard',
  describe: 'a live dashboard in the browser: every study of the stores and every experiment tag of the results root, updating as results arrive (read-only)',
  builder: (y) =>
    y
      .option('storage', { type: 'string', array: true, describe: 'a study store to show (repeatable): a SQLite file or postgresql://user:password@host:port/db; default: $TUNELAB_STORAGE, else <results root>/studies.db' })
      .option('results_root', { alias: 'results-root', type: 'string', describe: 'results root whose experiment tags are shown (default $TUNELAB_ROOT, else ~/tunelab)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind; any but a loopback one needs --token_file' })
      .option('port', numberFlag('port', 'TCP port (0: any free one, printed)', { integer: true, default: 8080 }))
      .option('token_file', { alias: 'token-file', type: 'string', describe: 'file of tokens, one a line: the browser asks for one (as the user name)' })
      .option('storage_timeout', numberFlag('storage_timeout', 'seconds to keep retrying an unreachable store (with backoff) before giving up', { default: 30 })) as never,
  handler: async (a) => {
    const root = resultsRoot(a.results_root);
    const { startDashboard } = await import('../dashboard/serve.js');
    const dashboard = await startDashboard({
      storages: dashboardStorages(a.storage, root),
      resultsRoot: root,
      host: a.host,
      port: a.port,
      tokenFile: a.token_file,
      storageTimeout: a.storage_timeout,
      onRetry: (line) => console.error(`tunelab: ${line}`),
      log: (line) => console.error(`tunelab dashboard: ${line}`),
    });
    console.log(`tunelab dashboard: open ${dashboard.url}/ (results root ${root}${a.token_file ? '; tokens required' : ''})`);
    console.error(`tunelab dashboard: ${await nextCloseSignal()}: closing`);
    await dashboard.close();
  },
};
