import type { CommandModule } from 'yargs';
import type { BenchmarkDefinition } from '../launchers/benchmarks/types.js';

export const methodsCommand: CommandModule<object, { file?: string }> = {
  command: 'methods',
  describe: 'list the registered methods (with -f: those that fit an experiment file)',
  builder: (y) => y.option('file', { alias: 'f', type: 'string', describe: 'an experiment file: list only the methods that fit it, and say why the others do not' }) as never,
  handler: async (a) => {
    const [{ experimentFileOptions, methodDefinitions, methodMisfit }, { formatTable }] = await Promise.all([import('../methods/registry.js'), import('../util/table.js')]);
    const all = Object.values(methodDefinitions);
    if (a.file === undefined) {
      console.log(formatTable(['method', 'cost', 'description'], all.map((m) => [m.name, m.expensive ? 'expensive' : 'cheap', m.description])));
      return;
    }
    const { loadExperimentFile } = await import('../experiment/load.js');
    const d = await loadExperimentFile(a.file, experimentFileOptions());
    const problem = { parameters: Object.keys(d.configSpace), resource: d.resource !== undefined };
    const fit = all.filter((m) => !methodMisfit(m, problem));
    console.log(formatTable(['method', 'cost', 'description'], fit.map((m) => [m.name, m.expensive ? 'expensive' : 'cheap', m.description])));
    const misfits = all.filter((m) => !fit.includes(m));
    if (misfits.length) console.error(`not for ${d.file}: ${misfits.map((m) => `${m.name} (${methodMisfit(m, problem)})`).join(', ')}`);
  },
};

/** The data column: 'closed form' and 'shipped' run without a download; else the kind of command that installs it. */
function dataKind(b: BenchmarkDefinition): string {
  if (b.data === undefined) return '-';
  return typeof b.data === 'string' ? b.data : b.data.command.split(' ')[2];
}

/** `--info`: one benchmark's definition as labelled lines. */
export function formatBenchmarkInfo(b: BenchmarkDefinition): string {
  const data =
    b.data === undefined
      ? undefined
      : typeof b.data === 'string'
        ? `${b.data === 'shipped' ? 'tables shipped with tunelab' : 'computed in closed form'} (runs without a download)`
        : `install once with: ${b.data.command}`;
  const lines: [string, string | undefined][] = [
    ['description', b.description],
    ['metric', `${b.metric} (${b.mode === 'min' ? 'minimised' : 'maximised'})`],
    ['resource', b.maxResourceAttr],
    ['elapsed time', b.elapsedTimeAttr],
    ['budget', `${b.maxWallclockTime} s of simulated time, ${b.nWorkers} workers`],
    ['blackbox', `${b.blackbox}${b.dataset ? `/${b.dataset}` : ''}${b.surrogate ? ` (surrogate ${b.surrogate})` : ''}`],
    ['data', data],
    ['local', b.local ? `--backend local trains for real: ${b.local.command.join(' ')}` : undefined],
    ['source', b.info?.source],
    ['licence', b.info?.licence],
    ['citation', b.info?.citation],
  ];
  const shown = lines.filter((l): l is [string, string] => l[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return [`${b.name}${b.isDefault ? ' (a default benchmark)' : ''}`, ...shown.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

/** The listing, its lines cut to `width` columns (the description gives way; --info shows it whole). */
export function formatBenchmarkList(benchmarks: BenchmarkDefinition[], width: number, formatTable: (h: string[], rows: (string | number)[][]) => string): string {
  const table = formatTable(
    ['benchmark', 'data', 'metric', 'description'],
    benchmarks.map((b) => [`${b.name}${b.isDefault ? ' *' : ''}`, dataKind(b), `${b.metric} (${b.mode})`, b.description]),
  );
  const fit = (line: string) => (line.length <= width ? line : `${line.slice(0, width - 1)}…`);
  return [
    ...table.split('\n').map(fit),
    '',
    '* default: run when no --benchmark is given',
    "data: 'closed form' and 'shipped' run without a download; 'download' and 'import' need a one-off",
    '`tunelab blackbox download|import` first (--info <benchmark> gives the command)',
  ].join('\n');
}

export const benchmarksCommand: CommandModule<object, { info?: string }> = {
  command: 'benchmarks',
  describe: 'list the registered benchmarks (which run without a download, which run by default)',
  builder: (y) => y.option('info', { type: 'string', requiresArg: true, describe: 'show the definition, data, source, licence and citation of one benchmark' }),
  handler: async (a) => {
    const [{ benchmarkDefinitions, getBenchmark }, { formatTable }] = await Promise.all([import('../launchers/benchmarks/index.js'), import('../util/table.js')]);
    if (a.info !== undefined) {
      console.log(formatBenchmarkInfo(getBenchmark(a.info)));
      return;
    }
    console.log(formatBenchmarkList(Object.values(benchmarkDefinitions), Math.max(60, process.stdout.columns ?? 100), formatTable));
  },
};
