import type { CommandModule } from 'yargs';
import { benchmarkDefinitions, getBenchmark } from '../launchers/benchmarks/index.js';
import { methodDefinitions } from '../launchers/methods.js';
import { formatTable } from '../launchers/reporting.js';

export const methodsCommand: CommandModule = {
  command: 'methods',
  describe: 'list the registered methods',
  handler: () => {
    console.log(
      formatTable(
        ['method', 'cost', 'description'],
        Object.values(methodDefinitions).map((m) => [m.name, m.expensive ? 'expensive' : 'cheap', m.description]),
      ),
    );
  },
};

export const benchmarksCommand: CommandModule<object, { info?: string }> = {
  command: 'benchmarks',
  describe: 'list the registered benchmarks',
  builder: (y) => y.option('info', { type: 'string', describe: 'show the definition, source, licence and citation of one benchmark' }),
  handler: (a) => {
    if (a.info !== undefined) {
      console.log(JSON.stringify(getBenchmark(a.info), null, 2));
      return;
    }
    console.log(
      formatTable(
        ['benchmark', 'metric', 'mode', 'workers', 'max time (s)', 'description'],
        Object.values(benchmarkDefinitions).map((b) => [b.name, b.metric, b.mode, b.nWorkers, b.maxWallclockTime, b.description]),
      ),
    );
  },
};
