import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { parseExperimentFolderName } from '../results/layout.js';
import { METADATA_FILE } from '../results/metadata.js';
import { RESULTS_FILE } from '../results/writer.js';
import { bestTrials } from '../plotting/frame.js';
import { loadResults } from '../plotting/load.js';
import { comparativeFigures } from '../plotting/study.js';

/** A tag's page: its runs as `tunelab plot` chooses them, their best trials, the comparative figures and every warning. */
export interface TagPage {
  tag: string;
  runs: { setup: string; benchmark: string; seed: number; status: string; results: number; best: number | null; metric: string; mode: 'min' | 'max'; folder: string }[];
  figures: { name: string; caption: string; spec: TopLevelSpec }[];
  warnings: string[];
}

/** Reads a tag's runs (under `root`) with `tunelab plot`'s defaults: failed and unfinished runs left out, with a warning naming them; duplicates named. */
export async function tagPage(root: string, tag: string): Promise<TagPage> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    if (!warnings.includes(m)) warnings.push(m);
  };
  const { runs } = await loadResults({ tags: [tag], root, warn });
  const best = new Map(bestTrials(runs, warn).map((b) => [b.folder, b.value]));
  const figures = runs.length > 0 ? comparativeFigures(runs, { agg: 'iqm', seed: 0 }, warn).specs : [];
  return {
    tag,
    runs: runs.map((r) => ({ setup: r.setup, benchmark: r.benchmark, seed: r.seed, status: String(r.metadata.status), results: r.times.length, best: best.get(r.folder) ?? null, metric: r.metric, mode: r.mode, folder: r.folder.slice(root.length + 1) })),
    figures,
    warnings,
  };
}

/**
 * What a tag's page depends on, as an ETag: each run folder's results and metadata files (size and
 * time of change). A poll costs a stat per run; the page is read again only when it changed.
 */
export function tagStamp(dir: string, tag: string): string {
  const h = createHash('sha1');
  for (const name of readdirSync(dir).sort()) {
    if (!parseExperimentFolderName(tag, name)) continue;
    h.update(name);
    for (const f of [RESULTS_FILE, METADATA_FILE]) {
      try {
        const st = statSync(join(dir, name, f));
        h.update(`:${st.size}:${st.mtimeMs}`);
      } catch {
        h.update(':-');
      }
    }
  }
  return `"${h.digest('hex').slice(0, 20)}"`;
}
