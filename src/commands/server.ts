import type { CommandModule } from 'yargs';
import { nextCloseSignal } from '../util/signals.js';
import { numberFlag } from './flags.js';

/**
 * `tunelab server [--storage URL] [--host 127.0.0.1] [--port 8080] [--token_file F]` (DESIGN.md §9).
 * fastify and the store are loaded when the command runs, never at the CLI's start-up.
 */

interface ServerArgs {
  storage?: string;
  host: string;
  port: number;
  token_file?: string;
  storage_timeout: number;
  results_root?: string;
}

export const serverCommand: CommandModule<object, ServerArgs> = {
  command: 'server',
  describe: "the study server: SigOpt's v1 API (experiments, suggestions, observations) and tunelab's own routes over one study store",
  builder: (y) =>
    y
      .option('storage', { type: 'string', describe: 'the study store: a SQLite file (default <results root>/studies.db) or postgresql://user:password@host:port/db' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind; any but a loopback one needs --token_file' })
      .option('port', numberFlag('port', 'TCP port (0: any free one, printed)', { integer: true, default: 8080 }))
      .option('token_file', { alias: 'token-file', type: 'string', describe: 'file of API tokens, one a line: requests must carry one (HTTP basic-auth user name, or Authorization: Bearer)' })
      .option('storage_timeout', numberFlag('storage_timeout', 'seconds to keep retrying an unreachable store (with backoff) before giving up', { default: 30 }))
      .option('results_root', { alias: 'results-root', type: 'string', describe: "results root whose experiment tags the dashboard (at /) shows (default $TUNELAB_ROOT, else ~/tunelab)" }) as never,
  handler: async (a) => {
    const { startServer } = await import('../server/serve.js');
    const server = await startServer({
      storage: a.storage,
      host: a.host,
      port: a.port,
      tokenFile: a.token_file,
      storageTimeout: a.storage_timeout,
      onRetry: (line) => console.error(`tunelab: ${line}`),
      log: (line) => console.error(`tunelab server: ${line}`),
      // the dashboard's pages at /, over the server's own store (read through it, never written)
      extraRoutes: async (app, store) => {
        const [{ addDashboard }, { DashboardData }, { resultsRoot }] = await Promise.all([import('../dashboard/serve.js'), import('../dashboard/sources.js'), import('../results/layout.js')]);
        await addDashboard(app, new DashboardData([store], resultsRoot(a.results_root), []), { log: (line) => console.error(`tunelab server: ${line}`) });
      },
    });
    console.log(`tunelab server: listening on ${server.url} (store ${server.storage}${a.token_file ? '; tokens required' : ''}); API description at ${server.url}/openapi.json; dashboard at ${server.url}/`);
    console.error(`tunelab server: ${await nextCloseSignal()}: closing`);
    await server.close();
  },
};
