/**
 * A study's trials as a page holds them: in columns of typed arrays, not an object per trial. A live
 * page holds every trial of its study (the table sorts and filters them all), and held as objects
 * (the trial, its config, its metrics and a box for each of their numbers: ~10 objects a trial) a
 * study of 100,000 kept the browser's garbage collector marking them all, again and again, while
 * writers added thousands a second: a third of what an open page then cost (README, the
 * dashboard's writers bench). Numbers sit in Float64Arrays, names (states, workers, a choice's values) once
 * each with an index a row, so the collector has a few arrays to look at whatever the study's size.
 * A trial is built as an object only when asked for (the table's rows in view, a chart's full draw).
 * No DOM here: the tests run it in Node.
 */
import type { TrialRow as Trial } from '../feed.js';
import type { RungCall } from '../rungs.js';
import type { TrialColumns } from '../wire.js';

type Value = string | number | boolean;

/** A copy of a typed array in a longer one (the rest zeros). */
function enlarged<A extends Uint8Array | Float64Array>(a: A, capacity: number): A {
  const longer = new (a.constructor as new (length: number) => A)(capacity);
  longer.set(a);
  return longer;
}

const NULL = 0;
const NUMBER = 1;
const NAME = 2;

/** One field of every row: a number, a name (string or boolean: stored once, an index a row) or null. */
class ValueColumn {
  private tags: Uint8Array;
  private numbers: Float64Array;
  private readonly names: Value[] = [];
  private readonly nameIndex = new Map<Value, number>();

  constructor(capacity: number) {
    this.tags = new Uint8Array(capacity);
    this.numbers = new Float64Array(capacity);
  }

  grow(capacity: number): void {
    this.tags = enlarged(this.tags, capacity);
    this.numbers = enlarged(this.numbers, capacity);
  }

  set(row: number, v: Value | null | undefined): void {
    if (v === null || v === undefined) this.tags[row] = NULL;
    else if (typeof v === 'number') {
      this.tags[row] = NUMBER;
      this.numbers[row] = v;
    } else {
      let i = this.nameIndex.get(v);
      if (i === undefined) {
        i = this.names.length;
        this.names.push(v);
        this.nameIndex.set(v, i);
      }
      this.tags[row] = NAME;
      this.numbers[row] = i;
    }
  }

  get(row: number): Value | null {
    const tag = this.tags[row];
    return tag === NUMBER ? this.numbers[row] : tag === NAME ? this.names[this.numbers[row]] : null;
  }
}

/** The fields held in a column each (config and metrics have a column per key; `why` is kept by row, being rare). */
const FIELDS = ['state', 'value', 'feasible', 'worker', 'host', 'attempts', 'duration', 'observedAt', 'resource', 'decision', 'error'] as const;
type Field = (typeof FIELDS)[number];

export class TrialRows {
  private capacity = 1024;
  private ids = new Float64Array(this.capacity);
  private readonly rowOf = new Map<number, number>();
  /** A column for each of FIELDS, in its order. */
  private readonly fields = FIELDS.map(() => new ValueColumn(this.capacity));
  private readonly config = new Map<string, ValueColumn>();
  private readonly metrics = new Map<string, ValueColumn>();
  private readonly why = new Map<number, RungCall>();

  get size(): number {
    return this.rowOf.size;
  }

  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** One field of a trial, without building the trial (undefined: no such trial). */
  field<F extends Field>(id: number, f: F): Trial[F] | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : (this.fields[FIELDS.indexOf(f)].get(row) as Trial[F]);
  }

  /** The row of a trial, a new one at the end if it has none yet. */
  private rowFor(id: number): { row: number; replaced: boolean } {
    const row = this.rowOf.get(id);
    if (row !== undefined) return { row, replaced: true };
    const fresh = this.rowOf.size;
    if (fresh === this.capacity) this.grow();
    this.rowOf.set(id, fresh);
    this.ids[fresh] = id;
    return { row: fresh, replaced: false };
  }

  /**
   * Sets every trial of an update as the server sends it (src/dashboard/wire.ts: a column per field),
   * building no trial: a live page gets thousands a second. Returns the trials it did not hold and
   * those observed by this update (held before without an observation, or new and observed).
   */
  setColumns(c: TrialColumns): { added: number[]; observed: number[] } {
    const added: number[] = [];
    const observed: number[] = [];
    const name = (x: number | null) => (x === null ? null : c.names[x]);
    const config = new Map(Object.entries(c.config));
    const metrics = new Map(Object.entries(c.metrics));
    const [state, value, feasible, worker, host, attempts, duration, observedAt, resource, decision, error] = this.fields;
    c.id.forEach((id, i) => {
      const { row, replaced } = this.rowFor(id);
      if (!replaced) added.push(id);
      if (c.observedAt[i] !== null && (!replaced || observedAt.get(row) === null)) observed.push(id);
      state.set(row, c.names[c.state[i]]);
      value.set(row, c.value[i]);
      feasible.set(row, c.feasible[i]);
      worker.set(row, name(c.worker[i]));
      host.set(row, name(c.host[i]));
      attempts.set(row, c.attempts[i]);
      duration.set(row, c.duration[i]);
      observedAt.set(row, c.observedAt[i]);
      resource.set(row, c.resource[i]);
      decision.set(row, c.decision[i]);
      error.set(row, c.error[i]);
      setColumn(this.config, row, config, i, this.capacity, replaced);
      setColumn(this.metrics, row, metrics, i, this.capacity, replaced);
      const why = c.why[i];
      if (why) this.why.set(row, why);
      else this.why.delete(row);
    });
    return { added, observed };
  }

  get(id: number): Trial | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : this.build(row);
  }

  /** Every trial, built one at a time, in the order they were first added. */
  *values(): IterableIterator<Trial> {
    for (let row = 0; row < this.rowOf.size; row++) yield this.build(row);
  }

  private build(row: number): Trial {
    const [state, value, feasible, worker, host, attempts, duration, observedAt, resource, decision, error] = this.fields.map((c) => c.get(row));
    return {
      id: this.ids[row],
      config: keyed(this.config, row),
      state: state as Trial['state'],
      value: value as number | null,
      metrics: keyed(this.metrics, row) as Record<string, number>,
      feasible: feasible as boolean | null,
      worker: worker as string | null,
      host: host as string | null,
      attempts: attempts as number,
      duration: duration as number | null,
      observedAt: observedAt as number | null,
      resource: resource as number | null,
      decision: decision as Trial['decision'],
      why: this.why.get(row) ?? null,
      error: error as string | null,
    };
  }

  private grow(): void {
    this.capacity *= 2;
    this.ids = enlarged(this.ids, this.capacity);
    for (const c of [...this.fields, ...this.config.values(), ...this.metrics.values()]) c.grow(this.capacity);
  }
}

/** A row's values of a keyed field (config, metrics) from an update's columns (its trial `i`): each key a column, made when a trial first has it; a key with no column in the update, or null in it, is null in the row. */
function setColumn(columns: Map<string, ValueColumn>, row: number, sent: Map<string, readonly (Value | null)[]>, i: number, capacity: number, replaced: boolean): void {
  if (replaced) for (const [k, c] of columns) if (!sent.has(k)) c.set(row, null);
  for (const [k, values] of sent) {
    let c = columns.get(k);
    if (!c) columns.set(k, (c = new ValueColumn(capacity)));
    c.set(row, values[i]);
  }
}

/** A row's keyed field as an object: the keys it has a value for, in the order their columns were made. */
function keyed(columns: Map<string, ValueColumn>, row: number): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [k, c] of columns) {
    const v = c.get(row);
    if (v !== null) out[k] = v;
  }
  return out;
}
