import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { packageRoot } from '../util/package-info.js';
import { readTable } from './format.js';
import type { SurrogateName } from './surrogates/surrogate.js';
import { syntheticBlackbox, syntheticBlackboxNames } from './synthetic.js';
import { TabularBlackbox } from './tabular.js';
import type { Blackbox } from './types.js';
import { loadYahpoLCBench } from './yahpo-lcbench.js';
import { YAHPO_SCENARIOS, loadYahpoSurrogate } from './yahpo-surrogates.js';
import { loadNmt } from './nmt.js';
import { SIMPLE_TABLES, type SimpleTableFamily, loadSimpleTable } from './simple-tables.js';
import { importHint } from './importers/index.js';
import { resolveInside } from '../util/path-part.js';

export interface BlackboxRequest {
  /** e.g. 'synthetic-fcnet', or a table family such as 'fcnet' */
  blackbox: string;
  dataset?: string;
  surrogate?: SurrogateName;
}

/** Folder of the tables shipped with tunelab: benchmarks/data/<blackbox>/<dataset>/. */
export const shippedTablesDir = join(packageRoot, 'benchmarks', 'data');

/** Where downloaded, imported and converted benchmark data lives: `$TUNELAB_DATA`, else `~/.cache/tunelab`. */
export function dataCacheDir(): string {
  return process.env.TUNELAB_DATA ?? join(homedir(), '.cache', 'tunelab');
}

const cache = new Map<string, Promise<Blackbox>>();

/**
 * Loads a blackbox: closed-form synthetic ones by name, tables from the data cache
 * (`dataCacheDir()`) or from the tables shipped in benchmarks/data. Loaded blackboxes are cached per process (experiments of a study share them).
 */
export function loadBlackbox(req: BlackboxRequest): Promise<Blackbox> {
  const key = JSON.stringify(req);
  let p = cache.get(key);
  if (!p) {
    p = load(req);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function load(req: BlackboxRequest): Promise<Blackbox> {
  if (syntheticBlackboxNames.includes(req.blackbox)) return syntheticBlackbox(req.blackbox);
  if (req.blackbox === 'yahpo-lcbench') return loadYahpoLCBench(dataCacheDir(), req.dataset ?? '');
  if (req.blackbox.startsWith('yahpo-') && Object.hasOwn(YAHPO_SCENARIOS, req.blackbox.slice('yahpo-'.length))) return loadYahpoSurrogate(dataCacheDir(), req.blackbox.slice('yahpo-'.length), req.dataset ?? '');
  if (req.blackbox === 'nmt') return loadNmt(dataCacheDir(), req.dataset ?? '');
  if (req.blackbox.startsWith('simple-')) {
    const family = req.blackbox.slice('simple-'.length);
    if (family in SIMPLE_TABLES) return loadSimpleTable(dataCacheDir(), family as SimpleTableFamily, req.dataset ?? '');
  }
  const dirs = [dataCacheDir(), shippedTablesDir].map((d) => resolveInside(d, [req.blackbox, req.dataset ?? ''], 'the blackbox and data set name'));
  const dir = dirs.find((d) => existsSync(join(d, 'meta.json')));
  if (!dir) {
    const hint = importHint(req.blackbox, req.dataset);
    throw new UserError(`no data for blackbox '${req.blackbox}${req.dataset ? `/${req.dataset}` : ''}' (looked in ${dirs.join(', ')})${hint ? `; ${hint}` : ''}`);
  }
  return new TabularBlackbox(readTable(dir), req.surrogate);
}
