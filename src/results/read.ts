import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCell, parseCsv } from './csv.js';
import { type ExperimentMetadata, METADATA_FILE } from './metadata.js';
import { RESULTS_FILE } from './writer.js';

export type ResultRow = Record<string, string | number | null>;

export interface ExperimentResults {
  folder: string;
  metadata: ExperimentMetadata;
  rows: ResultRow[];
}

/** Reads one experiment folder back. Throws an Error naming the folder and what is wrong with it. */
export function readExperiment(folder: string): ExperimentResults {
  const metaPath = join(folder, METADATA_FILE);
  if (!existsSync(metaPath)) throw new Error(`${folder}: no ${METADATA_FILE}`);
  let metadata: ExperimentMetadata;
  try {
    metadata = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (e) {
    throw new Error(`${folder}: ${METADATA_FILE} is not valid JSON (${(e as Error).message})`);
  }
  for (const k of ['method', 'benchmark', 'seed', 'metric', 'mode', 'status'] as const) {
    if (metadata[k] === undefined) throw new Error(`${folder}: ${METADATA_FILE} lacks '${k}'`);
  }
  const resultsPath = join(folder, RESULTS_FILE);
  if (!existsSync(resultsPath)) throw new Error(`${folder}: no ${RESULTS_FILE}`);
  let parsed: string[][];
  try {
    parsed = parseCsv(gunzipSync(readFileSync(resultsPath)).toString('utf8'));
  } catch (e) {
    throw new Error(`${folder}: ${RESULTS_FILE} is corrupt (${(e as Error).message})`);
  }
  const [header, ...body] = parsed;
  if (!header || !header.includes('st_tuner_time') || !header.includes(metadata.metric)) {
    throw new Error(`${folder}: ${RESULTS_FILE} lacks the st_tuner_time or '${metadata.metric}' column`);
  }
  const rows = body.map((r, i) => {
    if (r.length !== header.length) throw new Error(`${folder}: ${RESULTS_FILE} row ${i + 1} has ${r.length} cells, the header ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, parseCell(r[j])]));
  });
  return { folder, metadata, rows };
}
