import { type CellValue, type DecodedColumn, NULL_CODE } from '../results/columns.js';

/**
 * Columns in the shape arquero reads (`length`, `at`, iteration; a dictionary column also `key`,
 * `keyFor` and `groups`, so that groupby uses its codes as arquero does for Arrow dictionaries).
 * Built from runs' decoded columns without an object per row, and mostly without a copy: a column
 * keeps each run's own array and finds a row's run through the table's RunRows, so a column that
 * only some runs have (a benchmark's hyperparameters in a study of several) costs only their rows,
 * and a run's metadata (setup, seed…) costs nothing per row.
 */
export interface TableColumn {
  readonly length: number;
  at(row: number): CellValue;
  [Symbol.iterator](): Iterator<CellValue>;
}

/** The rows of runs one after another: each row's run, and each run's first row (shared by the table's columns). */
export class RunRows {
  readonly length: number;
  /** the run of each row */
  readonly run: Uint16Array | Uint32Array;
  /** the first row of each run */
  readonly start: Float64Array;

  constructor(readonly lengths: readonly number[]) {
    this.start = new Float64Array(lengths.length);
    let k = 0;
    lengths.forEach((n, r) => {
      this.start[r] = k;
      k += n;
    });
    this.length = k;
    this.run = lengths.length <= 0xffff ? new Uint16Array(k) : new Uint32Array(k);
    lengths.forEach((n, r) => this.run.fill(r, this.start[r], this.start[r] + n));
  }
}

function* iterate(column: TableColumn): Iterator<CellValue> {
  for (let i = 0; i < column.length; i++) yield column.at(i);
}

/** Values through dictionary codes: `codeAt(row)` is a code into `dictionary`, or NULL_CODE for null. */
function dictionaryColumn(length: number, codeAt: (row: number) => number, dictionary: CellValue[]): TableColumn {
  const size = dictionary.length;
  let nullCount = 0;
  for (let i = 0; i < length; i++) if (codeAt(i) === NULL_CODE) nullCount++;
  // arquero's group keys: the null group (if any) is key `size`
  const key = (row: number) => {
    const c = codeAt(row);
    return c === NULL_CODE ? size : c;
  };
  const column = {
    length,
    nullCount,
    at: (row: number) => {
      const c = codeAt(row);
      return c === NULL_CODE ? null : dictionary[c];
    },
    key,
    keyFor(value: CellValue) {
      if (value === null) return nullCount ? size : -1;
      return dictionary.indexOf(value);
    },
    groups(names: string[]) {
      const s = size + (nullCount ? 1 : 0);
      // a key per row only while grouped by this column
      const keys = new Uint32Array(length);
      for (let i = 0; i < length; i++) keys[i] = key(i);
      return { keys, get: [(k: number) => (k === size ? null : dictionary[k])], names, rows: Array.from({ length: s }, (_, i) => i), size: s };
    },
    [Symbol.iterator]: () => iterate(column),
  };
  return column;
}

/** Codes into one dictionary, growing as values come. */
function dictionaryBuilder(): { dictionary: CellValue[]; code: (v: CellValue) => number } {
  const dictionary: CellValue[] = [];
  const index = new Map<CellValue, number>();
  return {
    dictionary,
    code(v) {
      if (v === null) return NULL_CODE;
      let c = index.get(v);
      if (c === undefined) {
        c = dictionary.length;
        dictionary.push(v);
        index.set(v, c);
      }
      return c;
    },
  };
}

/** A value repeated over each run's rows (`values[run]`), dictionary-encoded: nothing stored per row. */
export function constantColumn(values: CellValue[], rows: RunRows): TableColumn {
  const { dictionary, code } = dictionaryBuilder();
  const codes = Uint32Array.from(values, code);
  return dictionaryColumn(rows.length, (row) => codes[rows.run[row]], dictionary);
}

/**
 * One column over runs: `parts[run]` is that run's decoded column, or undefined where the run lacks
 * it (null there). Numbers in every run, none missing: one Float64Array (an Int32Array when every
 * run's are 32-bit integers). Numbers otherwise: each run's own array. Anything else: the runs' codes
 * rewritten in place into one dictionary. The parts' arrays become the column's: the caller lets go
 * of the runs' decoded columns.
 */
export function concatColumn(parts: readonly (DecodedColumn | undefined)[], rows: RunRows): TableColumn | Float64Array | Int32Array {
  const at = (row: number) => row - rows.start[rows.run[row]];
  type Numbers = { values: Float64Array | Int32Array; valid?: Uint8Array };
  if (parts.every((p) => p?.kind === 'number' && !p.valid)) {
    const dense = parts as readonly Numbers[];
    const values = dense.every((p) => p.values instanceof Int32Array) ? new Int32Array(rows.length) : new Float64Array(rows.length);
    dense.forEach((p, r) => values.set(p.values, rows.start[r]));
    return values;
  }
  if (parts.every((p) => p === undefined || p.kind === 'number')) {
    const numbers = parts as readonly (Numbers | undefined)[];
    const column: TableColumn = {
      length: rows.length,
      at(row) {
        const p = numbers[rows.run[row]];
        if (!p) return null;
        const i = at(row);
        return p.valid && !p.valid[i] ? null : p.values[i];
      },
      [Symbol.iterator]: () => iterate(column),
    };
    return column;
  }
  const { dictionary, code } = dictionaryBuilder();
  const codes = parts.map((p) => {
    if (!p) return undefined;
    if (p.kind === 'number') return Uint32Array.from(p.values, (v, i) => (p.valid && !p.valid[i] ? NULL_CODE : code(v)));
    // the run's codes into the merged dictionary, in place
    const remap = Uint32Array.from(p.dictionary, code);
    for (let i = 0; i < p.codes.length; i++) if (p.codes[i] !== NULL_CODE) p.codes[i] = remap[p.codes[i]];
    return p.codes;
  });
  return dictionaryColumn(
    rows.length,
    (row) => {
      const c = codes[rows.run[row]];
      return c ? c[at(row)] : NULL_CODE;
    },
    dictionary,
  );
}
