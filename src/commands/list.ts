import type { CommandModule } from 'yargs';

export const methodsCommand: CommandModule = {
  command: 'methods',
  describe: 'list the registered methods',
  handler: async () => {
    const [{ methodDefinitions }, { formatTable }] = await Promise.all([import('../launchers/methods.js'), import('../launchers/reporting.js')]);
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
  handler: async (a) => {
    const [{ benchmarkDefinitions, getBenchmark }, { formatTable }] = await Promise.all([import('../launchers/benchmarks/index.js'), import('../launchers/reporting.js')]);
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
