import type { CommandModule } from 'yargs';
import { DATASETS, downloadDataSet } from '../blackbox/download.js';
import { dataCacheDir } from '../blackbox/repository.js';

interface DownloadArgs {
  name: string;
  data_dir?: string;
  source_url?: string;
}

const downloadCommand: CommandModule<object, DownloadArgs> = {
  command: 'download <name>',
  describe: `fetch a public benchmark's data into the cache ($TUNELAB_DATA, else ~/.cache/tunelab), checking sizes and SHA-256: ${Object.keys(DATASETS).join(', ')}`,
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true })
      .option('data_dir', { type: 'string', describe: 'copy from this local folder instead of fetching' })
      .option('source_url', { type: 'string', describe: 'fetch from this mirror instead of the public source' }) as never,
  handler: async (a) => {
    const dir = await downloadDataSet(a.name, dataCacheDir(), { dataDir: a.data_dir, sourceUrl: a.source_url });
    console.log(`${a.name} installed in ${dir}`);
  },
};

/** `tunelab blackbox <subcommand>`: the benchmark data tools. */
export const blackboxCommand: CommandModule = {
  command: 'blackbox <subcommand>',
  describe: 'benchmark data: download',
  builder: (y) => y.command([downloadCommand]).demandCommand(1),
  handler: () => {},
};
