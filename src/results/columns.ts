import { parseCell, parseCsv } from './csv.js';
import { type Warn, readResultsText } from './read.js';
import { RESULTS_FILE } from './writer.js';

/** A cell's value as readExperiment gives it: a number, a string, or null for an empty cell. */
export type CellValue = string | number | null;

/**
 * A decoded column: numbers in a Float64Array, or an Int32Array when every one is a 32-bit integer
 * (trial ids, epochs, most hyperparameters: half the memory), with `valid`, one byte a row, only when
 * some cell is empty: null; anything else dictionary-encoded (codes into `dictionary`, NULL_CODE for
 * null). No object per row: a study's table holds millions of rows.
 */
export type DecodedColumn = { kind: 'number'; values: Float64Array | Int32Array; valid?: Uint8Array } | { kind: 'dict'; codes: Uint32Array; dictionary: CellValue[] };

export const NULL_CODE = 0xffffffff;

/** One results file's columns, in the file's order. */
export interface DecodedResults {
  length: number;
  /** Every column of the file's header. */
  header: string[];
  /** The decoded ones, in header order. */
  names: string[];
  columns: Map<string, DecodedColumn>;
}

/** Grows while a column is numbers; turns into a dictionary column at its first cell that is not one. */
class ColumnDecoder {
  private values: Float64Array;
  private valid: Uint8Array | undefined;
  private codes: Uint32Array | undefined;
  private dictionary: CellValue[] = [];
  private index = new Map<CellValue, number>();

  constructor(private readonly length: number) {
    this.values = new Float64Array(length);
  }

  set(row: number, raw: string): void {
    if (this.codes) {
      this.codes[row] = this.code(parseCell(raw));
      return;
    }
    if (raw === '') {
      this.valid ??= new Uint8Array(this.length).fill(1);
      this.valid[row] = 0;
      return;
    }
    const v = parseCell(raw);
    if (typeof v === 'number') this.values[row] = v;
    else {
      this.toDictionary(row);
      this.codes![row] = this.code(v);
    }
  }

  private code(v: CellValue): number {
    if (v === null) return NULL_CODE;
    let c = this.index.get(v);
    if (c === undefined) {
      c = this.dictionary.length;
      this.dictionary.push(v);
      this.index.set(v, c);
    }
    return c;
  }

  /** The rows before `row` were numbers (or empty): re-encode them as dictionary codes. */
  private toDictionary(row: number): void {
    this.codes = new Uint32Array(this.length);
    for (let r = 0; r < row; r++) this.codes[r] = this.valid && !this.valid[r] ? NULL_CODE : this.code(this.values[r]);
    this.values = new Float64Array(0);
    this.valid = undefined;
  }

  finish(): DecodedColumn {
    if (this.codes) return { kind: 'dict', codes: this.codes, dictionary: this.dictionary };
    return { kind: 'number', values: asInt32(this.values) ?? this.values, ...(this.valid && { valid: this.valid }) };
  }
}

/** The values as an Int32Array when each is one exactly (not -0, whose sign it would lose), else undefined. */
function asInt32(values: Float64Array): Int32Array | undefined {
  for (const v of values) if ((v | 0) !== v || Object.is(v, -0)) return undefined;
  return Int32Array.from(values);
}

/**
 * Line ends of a results text: the next newline, or for a line with a quote the next newline
 * outside quotes (a quoted cell may hold one; "" toggles twice, as it should). The next quote's
 * position is kept, so that finding them costs one pass over the text, not one per line.
 */
function lineEnds(text: string): (p: number) => number {
  let nextQuote = text.indexOf('"');
  return (p) => {
    let e = text.indexOf('\n', p);
    if (e < 0) e = text.length;
    if (nextQuote >= 0 && nextQuote < p) nextQuote = text.indexOf('"', p);
    if (nextQuote < 0 || nextQuote >= e) return e;
    let open = false;
    for (let i = p; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) open = !open;
      else if (c === 10 && !open) return i;
    }
    return text.length;
  };
}

/**
 * Decodes a results file's text straight into columns, each cell parsed as readExperiment parses it
 * (parseCell). `wanted`: only those of these columns the file has (all when undefined); `required`:
 * columns the header must have.
 * A line is split on commas up to the last wanted column; one with a quote goes through the full
 * CSV parser. Throws an Error naming the folder for a missing column or a row of the wrong width.
 */
export function decodeResults(text: string, folder: string, wanted?: readonly string[], required: readonly string[] = []): DecodedResults {
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const header = parseCsv(text.slice(0, end))[0] ?? [];
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) throw new Error(`${folder}: ${RESULTS_FILE} lacks the column(s) ${missing.join(', ')}`);
  const names = wanted ? header.filter((h) => wanted.includes(h)) : header;
  const idx = names.map((n) => header.indexOf(n));
  let length = 0;
  let lineEnd = lineEnds(text);
  for (let p = end + 1; p < text.length; ) {
    const e = lineEnd(p);
    if (e > p) length++;
    p = e + 1;
  }
  const decoders = names.map(() => new ColumnDecoder(length));
  const last = idx.length ? Math.max(...idx) : -1;
  const byIndex = new Int32Array(header.length).fill(-1);
  idx.forEach((h, k) => (byIndex[h] = k));
  let row = 0;
  lineEnd = lineEnds(text);
  for (let p = end + 1; p < text.length; ) {
    const e = lineEnd(p);
    if (e > p) {
      const line = text.charCodeAt(e - 1) === 13 ? text.slice(p, e - 1) : text.slice(p, e);
      if (line.includes('"')) {
        let cells: string[];
        try {
          cells = parseCsv(line)[0];
        } catch (err) {
          throw new Error(`${folder}: ${RESULTS_FILE} is corrupt (${(err as Error).message})`);
        }
        if (cells.length !== header.length) throw new Error(`${folder}: ${RESULTS_FILE} row ${row + 1} has ${cells.length} cells, the header ${header.length}`);
        for (let k = 0; k < idx.length; k++) decoders[k].set(row, cells[idx[k]]);
      } else {
        // walk the commas; every line is checked for its width, as readExperiment does
        let start = 0;
        let cell = 0;
        for (;;) {
          const comma = line.indexOf(',', start);
          const stop = comma < 0 ? line.length : comma;
          if (cell <= last && cell < header.length) {
            const k = byIndex[cell];
            if (k >= 0) decoders[k].set(row, line.slice(start, stop));
          }
          cell++;
          if (comma < 0) break;
          start = comma + 1;
        }
        if (cell !== header.length) throw new Error(`${folder}: ${RESULTS_FILE} row ${row + 1} has ${cell} cells, the header ${header.length}`);
      }
      row++;
    }
    p = e + 1;
  }
  return { length, header, names, columns: new Map(names.map((n, k) => [n, decoders[k].finish()])) };
}

/** A folder's results file read once and decoded into columns (see decodeResults, readResultsText). */
export function readDecodedResults(folder: string, options: { wanted?: readonly string[]; required?: readonly string[]; warn?: Warn } = {}): DecodedResults {
  return decodeResults(readResultsText(folder, options.warn), folder, options.wanted, options.required);
}

/** A column as numbers: null and text as NaN (what the curves of a plot need). */
export function numbersOf(column: DecodedColumn): Float64Array {
  if (column.kind === 'dict') return Float64Array.from(column.codes, (c) => (c === NULL_CODE ? NaN : Number(column.dictionary[c])));
  const valid = column.valid;
  if (!valid) return column.values instanceof Float64Array ? column.values : Float64Array.from(column.values);
  return Float64Array.from(column.values, (v, i) => (valid[i] ? v : NaN));
}
