import { type CellValue, type DecodedColumn, NULL_CODE } from '../results/columns.js';

/**
 * Columns in the shape arquero reads (`length`, `at`, iteration; a dictionary column also `key`,
 * `keyFor` and `groups`, so that groupby uses its codes as arquero does for Arrow dictionaries).
 * Built from runs' decoded columns without an object per row.
 */
export interface TableColumn {
  readonly length: number;
  at(row: number): CellValue;
  [Symbol.iterator](): Iterator<CellValue>;
}

function* iterate(column: TableColumn): Iterator<CellValue> {
  for (let i = 0; i < column.length; i++) yield column.at(i);
}

/** Numbers; null where `valid` is 0. Without nulls the Float64Array itself is the column. */
function numberColumn(values: Float64Array, valid: Uint8Array | undefined): TableColumn | Float64Array {
  if (!valid) return values;
  const column: TableColumn = { length: values.length, at: (i) => (valid[i] ? values[i] : null), [Symbol.iterator]: () => iterate(column) };
  return column;
}

/** Dictionary-encoded values: codes into `dictionary`, NULL_CODE for null. */
function dictionaryColumn(codes: Uint32Array, dictionary: CellValue[]): TableColumn {
  const size = dictionary.length;
  let nullCount = 0;
  for (const c of codes) if (c === NULL_CODE) nullCount++;
  // arquero's group keys: the null group (if any) is key `size`
  const keys = nullCount ? codes.map((c) => (c === NULL_CODE ? size : c)) : codes;
  const get = (k: number) => (k === size ? null : dictionary[k]);
  const column = {
    length: codes.length,
    nullCount,
    at: (row: number) => get(keys[row]),
    key: (row: number) => keys[row],
    keyFor(value: CellValue) {
      if (value === null) return nullCount ? size : -1;
      return dictionary.indexOf(value);
    },
    groups(names: string[]) {
      const s = size + (nullCount ? 1 : 0);
      return { keys, get: [get], names, rows: Array.from({ length: s }, (_, i) => i), size: s };
    },
    [Symbol.iterator]: () => iterate(column),
  };
  return column;
}

/** A value repeated per run: `values[run]` for that run's `lengths[run]` rows, dictionary-encoded (or Float64 for numbers). */
export function constantColumn(values: CellValue[], lengths: number[]): TableColumn | Float64Array {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (values.every((v) => typeof v === 'number')) {
    const out = new Float64Array(total);
    let k = 0;
    values.forEach((v, r) => {
      out.fill(v as number, k, k + lengths[r]);
      k += lengths[r];
    });
    return out;
  }
  const dictionary: CellValue[] = [];
  const index = new Map<CellValue, number>();
  const codes = new Uint32Array(total);
  let k = 0;
  values.forEach((v, r) => {
    let c = v === null ? NULL_CODE : index.get(v);
    if (c === undefined) {
      c = dictionary.length;
      dictionary.push(v);
      index.set(v, c);
    }
    codes.fill(c, k, k + lengths[r]);
    k += lengths[r];
  });
  return dictionaryColumn(codes, dictionary);
}

/**
 * One column over runs, concatenated: `parts[run]` is that run's decoded column, or undefined where
 * the run lacks it (null there). Numbers stay a Float64Array when every run's are numbers; otherwise
 * the runs' dictionaries are merged into one.
 */
export function concatColumn(parts: readonly (DecodedColumn | undefined)[], lengths: number[]): TableColumn | Float64Array {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (parts.every((p) => p === undefined || p.kind === 'number')) {
    const values = new Float64Array(total);
    let valid: Uint8Array | undefined;
    let k = 0;
    parts.forEach((p, r) => {
      const n = lengths[r];
      if (p?.kind === 'number') values.set(p.values, k);
      if (!p || (p.kind === 'number' && p.valid)) {
        valid ??= new Uint8Array(total).fill(1);
        if (p?.kind === 'number' && p.valid) valid.set(p.valid, k);
        else valid.fill(0, k, k + n);
      }
      k += n;
    });
    return numberColumn(values, valid);
  }
  const dictionary: CellValue[] = [];
  const index = new Map<CellValue, number>();
  const code = (v: CellValue) => {
    let c = index.get(v);
    if (c === undefined) {
      c = dictionary.length;
      dictionary.push(v);
      index.set(v, c);
    }
    return c;
  };
  const codes = new Uint32Array(total);
  let k = 0;
  parts.forEach((p, r) => {
    const n = lengths[r];
    if (!p) codes.fill(NULL_CODE, k, k + n);
    else if (p.kind === 'number') for (let i = 0; i < n; i++) codes[k + i] = p.valid && !p.valid[i] ? NULL_CODE : code(p.values[i]);
    else {
      // the run's codes into the merged dictionary
      const remap = Uint32Array.from(p.dictionary, code);
      for (let i = 0; i < n; i++) codes[k + i] = p.codes[i] === NULL_CODE ? NULL_CODE : remap[p.codes[i]];
    }
    k += n;
  });
  return dictionaryColumn(codes, dictionary);
}
