import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, unknownName } from '../../util/errors.js';
import { FCNET_DATASETS, importFcnet } from './fcnet.js';
import { importLCBench } from './lcbench.js';
import { importNasbench201 } from './nasbench201.js';

/** `tunelab blackbox import <format> <path>`: what each format reads, and its importer. */
export const IMPORTERS = {
  fcnet: { files: /^fcnet_.+_data\.hdf5$/, what: 'fcnet_<dataset>_data.hdf5 files (fcnet_tabular_benchmarks)', run: importFcnet },
  lcbench: { files: /\.json$/, what: 'the LCBench JSON (data_2k.json or data_2k_lw.json)', run: importLCBench },
  nasbench201: { files: /\.pickle(\.pbz2)?$/, what: 'NATS-tss-v1_0-3ffb9.pickle.pbz2 (or the .pickle)', run: importNasbench201 },
} as const;
export type ImportFormat = keyof typeof IMPORTERS;

/** Converts the public files at `path` (a file, or a folder searched for the format's files) into `dataRoot`. */
export async function importBlackbox(format: string, path: string, dataRoot: string, log: (line: string) => void = console.error): Promise<string[]> {
  if (!(format in IMPORTERS)) throw unknownName('import format', format, Object.keys(IMPORTERS));
  const imp = IMPORTERS[format as ImportFormat];
  if (!existsSync(path)) throw new UserError(`${path} does not exist (expected ${imp.what})`);
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => imp.files.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new UserError(`${path} holds none of ${imp.what}`);
  return imp.run(files, dataRoot, log);
}

/** For a missing table: the command that imports it, when it is one of the public blackboxes. */
export function importHint(blackbox: string, dataset: string | undefined): string | undefined {
  if (blackbox === 'fcnet' && (FCNET_DATASETS as readonly string[]).includes(dataset ?? '')) {
    return `import it from the public fcnet files with: tunelab blackbox import fcnet <folder or fcnet_${dataset}_data.hdf5> (fcnet_tabular_benchmarks.tar.gz, Klein & Hutter 2019)`;
  }
  if (blackbox === 'lcbench') return 'import it with: tunelab blackbox import lcbench <data_2k.json>';
  if (blackbox === 'nasbench201') return 'import it with: tunelab blackbox import nasbench201 <NATS-tss-v1_0-3ffb9.pickle.pbz2>';
  return undefined;
}
