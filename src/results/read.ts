import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCell, parseCsv } from './csv.js';
import { gzipMembers } from './members.js';
import { type ExperimentMetadata, METADATA_FILE } from './metadata.js';
import { type TrialEnd, readTrialEnds } from './trial-ends.js';
import { RESULTS_FILE } from './writer.js';

export type ResultRow = Record<string, string | number | null>;

export interface ExperimentResults {
  folder: string;
  metadata: ExperimentMetadata;
  rows: ResultRow[];
  /**
   * How each ended trial ended (trials.jsonl): completed, stopped or failed. A row's st_status is the
   * trial's status when that result came; this is its end, whenever its exit arrived.
   */
  trialEnds: Map<number, TrialEnd>;
}

export type Warn = (message: string) => void;

/**
 * The text of a folder's results file. A crash while a flush appends its gzip member leaves a
 * damaged last member: every complete member before it is kept, and `warn` is told (naming the
 * file) how many rows were kept and how many bytes dropped. Throws, naming the folder, when the file
 * is missing or no member is readable.
 */
export function readResultsText(folder: string, warn: Warn = (m) => console.warn(m)): string {
  const path = join(folder, RESULTS_FILE);
  if (!existsSync(path)) throw new Error(`${folder}: no ${RESULTS_FILE}`);
  const buf = readFileSync(path);
  try {
    return gunzipSync(buf).toString('utf8');
  } catch (e) {
    const { members, goodBytes, damage } = gzipMembers(buf);
    if (members.length === 0 || !damage) throw new Error(`${folder}: ${RESULTS_FILE} is corrupt (${(e as Error).message})`);
    const text = Buffer.concat(members.map((m) => m.data)).toString('utf8');
    const rows = Math.max(0, parseCsv(text).length - 1);
    warn(`${path}: kept its ${rows} rows in ${members.length} complete gzip member(s) and dropped the last ${buf.length - goodBytes} bytes: ${damage} (left by a crash while writing?)`);
    return text;
  }
}

/**
 * Reads one experiment folder back. Throws an Error naming the folder and what is wrong with it; a
 * damaged tail of its results file is dropped with a warning (see readResultsText).
 */
export function readExperiment(folder: string, warn?: Warn): ExperimentResults {
  const metadata = readExperimentMetadata(folder);
  const text = readResultsText(folder, warn);
  let parsed: string[][];
  try {
    parsed = parseCsv(text);
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
  return { folder, metadata, rows, trialEnds: readTrialEnds(folder) };
}

/** metadata.json of a folder, checked for the fields plotting needs. */
export function readExperimentMetadata(folder: string): ExperimentMetadata {
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
  return metadata;
}
