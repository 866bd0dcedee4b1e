import { type Rng, randomInt } from '../util/rng.js';
import { UserError } from '../util/errors.js';

export type Value = number | string | boolean;

export type DomainJSON = (
  | { type: 'choice' | 'ordinal'; values: Value[] }
  | { type: 'uniform' | 'loguniform' | 'randint' | 'lograndint'; lower: number; upper: number }
  | { type: 'finrange' | 'logfinrange'; lower: number; upper: number; size: number; cast_int: boolean }
) & {
  /** a conditional hyperparameter's condition (conditions.ts) */
  when?: Readonly<Record<string, readonly Value[]>>;
};

export type DomainKind = DomainJSON['type'];

/**
 * One hyperparameter's range. Every domain samples from an injected RNG, validates values, and maps
 * values to and from [0,1]^encodedSize (the input space of the GP models; one-hot for `choice`).
 */
export interface Domain {
  readonly kind: DomainKind;
  readonly encodedSize: number;
  sample(rng: Rng): Value;
  /** True if `value` is a legal value of this domain. */
  contains(value: unknown): boolean;
  encode(value: Value, out: Float64Array, offset: number): void;
  decode(encoded: ArrayLike<number>, offset: number): Value;
  /** All values of a finite domain, in order; undefined for a continuous one. */
  readonly finiteValues: readonly Value[] | undefined;
  /** Set on a conditional hyperparameter (conditions.ts's `when`): active only when it holds. */
  readonly condition?: Readonly<Record<string, readonly Value[]>>;
  toJSON(): DomainJSON;
}

export class ConfigSpaceError extends UserError {}

const clamp01 = (u: number) => (u < 0 ? 0 : u > 1 ? 1 : u);
/** Trim float noise (0.30000000000000004) from computed grid values. */
const tidy = (x: number) => Number(x.toPrecision(12));

function requireFiniteNumber(kind: string, name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new ConfigSpaceError(`${kind}: ${name} must be a finite number, got ${JSON.stringify(x)}`);
  }
  return x;
}

function checkBounds(kind: DomainKind, lower: number, upper: number, opts: { log?: boolean; int?: boolean }) {
  requireFiniteNumber(kind, 'lower', lower);
  requireFiniteNumber(kind, 'upper', upper);
  if (opts.int && (!Number.isInteger(lower) || !Number.isInteger(upper))) {
    throw new ConfigSpaceError(`${kind}(${lower}, ${upper}): bounds must be integers`);
  }
  if (!(lower < upper) && !(opts.int && lower === upper)) {
    throw new ConfigSpaceError(`${kind}(${lower}, ${upper}): lower must be < upper`);
  }
  if (opts.log && lower <= 0) {
    throw new ConfigSpaceError(`${kind}(${lower}, ${upper}): a log domain needs a positive lower bound`);
  }
}

/** A domain over a finite list of values, encoded by the index (cell centres of [0,1]). */
function indexDomain(kind: DomainKind, values: readonly Value[], json: () => DomainJSON): Domain {
  const n = values.length;
  const indexOf = (value: unknown): number => {
    if (typeof value === 'number') {
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === 'number' && (v === value || Math.abs(v - value) <= 1e-9 * Math.max(1, Math.abs(v)))) return i;
      }
      return -1;
    }
    return values.indexOf(value as Value);
  };
  return {
    kind,
    encodedSize: 1,
    finiteValues: values,
    sample: (rng) => values[randomInt(rng, 0, n - 1)],
    contains: (value) => indexOf(value) >= 0,
    encode(value, out, offset) {
      const i = indexOf(value);
      if (i < 0) throw new ConfigSpaceError(`${kind}: ${JSON.stringify(value)} is not one of ${JSON.stringify(values)}`);
      out[offset] = (i + 0.5) / n;
    },
    decode: (enc, offset) => values[Math.min(n - 1, Math.floor(clamp01(enc[offset]) * n))],
    toJSON: json,
  };
}

export function choice(values: readonly Value[]): Domain {
  checkCategorical('choice', values);
  const list = [...values];
  const k = list.length;
  return {
    kind: 'choice',
    encodedSize: k,
    finiteValues: list,
    sample: (rng) => list[randomInt(rng, 0, k - 1)],
    contains: (value) => list.includes(value as Value),
    encode(value, out, offset) {
      const i = list.indexOf(value);
      if (i < 0) throw new ConfigSpaceError(`choice: ${JSON.stringify(value)} is not one of ${JSON.stringify(list)}`);
      for (let j = 0; j < k; j++) out[offset + j] = j === i ? 1 : 0;
    },
    decode(enc, offset) {
      let best = 0;
      for (let j = 1; j < k; j++) if (enc[offset + j] > enc[offset + best]) best = j;
      return list[best];
    },
    toJSON: () => ({ type: 'choice', values: [...list] }),
  };
}

export function ordinal(values: readonly Value[]): Domain {
  checkCategorical('ordinal', values);
  const list = [...values];
  return indexDomain('ordinal', list, () => ({ type: 'ordinal', values: [...list] }));
}

function checkCategorical(kind: string, values: readonly Value[]) {
  if (!Array.isArray(values) || values.length === 0) {
    throw new ConfigSpaceError(`${kind}: needs a non-empty list of values, got ${JSON.stringify(values)}`);
  }
  for (const v of values) {
    if (!['number', 'string', 'boolean'].includes(typeof v) || (typeof v === 'number' && !Number.isFinite(v))) {
      throw new ConfigSpaceError(`${kind}: values must be finite numbers, strings or booleans, got ${JSON.stringify(v)}`);
    }
  }
  if (new Set(values).size !== values.length) {
    throw new ConfigSpaceError(`${kind}: duplicate values in ${JSON.stringify(values)}`);
  }
}

function continuous(kind: 'uniform' | 'loguniform', lower: number, upper: number): Domain {
  const log = kind === 'loguniform';
  checkBounds(kind, lower, upper, { log });
  const a = log ? Math.log(lower) : lower;
  const b = log ? Math.log(upper) : upper;
  const fromUnit = (u: number) => {
    const x = a + u * (b - a);
    const v = log ? Math.exp(x) : x;
    return Math.min(upper, Math.max(lower, v));
  };
  return {
    kind,
    encodedSize: 1,
    finiteValues: undefined,
    sample: (rng) => fromUnit(rng.next()),
    contains: (v) => typeof v === 'number' && v >= lower && v <= upper,
    encode(value, out, offset) {
      const x = log ? Math.log(value as number) : (value as number);
      out[offset] = clamp01((x - a) / (b - a));
    },
    decode: (enc, offset) => fromUnit(clamp01(enc[offset])),
    toJSON: () => ({ type: kind, lower, upper }),
  };
}

export const uniform = (lower: number, upper: number) => continuous('uniform', lower, upper);
export const loguniform = (lower: number, upper: number) => continuous('loguniform', lower, upper);

export function randint(lower: number, upper: number): Domain {
  checkBounds('randint', lower, upper, { int: true });
  const n = upper - lower + 1;
  return {
    kind: 'randint',
    encodedSize: 1,
    finiteValues: n <= 1_000_000 ? Array.from({ length: n }, (_, i) => lower + i) : undefined,
    sample: (rng) => randomInt(rng, lower, upper),
    contains: (v) => Number.isInteger(v) && (v as number) >= lower && (v as number) <= upper,
    encode(value, out, offset) {
      out[offset] = ((value as number) - lower + 0.5) / n;
    },
    decode: (enc, offset) => lower + Math.min(n - 1, Math.floor(clamp01(enc[offset]) * n)),
    toJSON: () => ({ type: 'randint', lower, upper }),
  };
}

export function lograndint(lower: number, upper: number): Domain {
  checkBounds('lograndint', lower, upper, { int: true, log: true });
  // Integers are cells [v - 0.5, v + 0.5) on a log axis, so each value keeps a log-proportional share.
  const a = Math.log(lower - 0.5 > 0 ? lower - 0.5 : lower / 2);
  const b = Math.log(upper + 0.5);
  const fromUnit = (u: number) => Math.min(upper, Math.max(lower, Math.round(Math.exp(a + u * (b - a)))));
  const n = upper - lower + 1;
  return {
    kind: 'lograndint',
    encodedSize: 1,
    finiteValues: n <= 1_000_000 ? Array.from({ length: n }, (_, i) => lower + i) : undefined,
    sample: (rng) => fromUnit(rng.next()),
    contains: (v) => Number.isInteger(v) && (v as number) >= lower && (v as number) <= upper,
    encode(value, out, offset) {
      out[offset] = clamp01((Math.log(value as number) - a) / (b - a));
    },
    decode: (enc, offset) => fromUnit(clamp01(enc[offset])),
    toJSON: () => ({ type: 'lograndint', lower, upper }),
  };
}

export interface FinrangeOptions {
  castInt?: boolean;
}

function gridDomain(kind: 'finrange' | 'logfinrange', lower: number, upper: number, size: number, castInt: boolean): Domain {
  const log = kind === 'logfinrange';
  checkBounds(kind, lower, upper, { log });
  if (!Number.isInteger(size) || size < 2) {
    throw new ConfigSpaceError(`${kind}(${lower}, ${upper}, ${size}): size must be an integer >= 2`);
  }
  const values: number[] = [];
  for (let i = 0; i < size; i++) {
    const t = i / (size - 1);
    const x = log ? Math.exp(Math.log(lower) + t * (Math.log(upper) - Math.log(lower))) : lower + t * (upper - lower);
    values.push(castInt ? Math.round(x) : tidy(x));
  }
  if (new Set(values).size !== values.length) {
    throw new ConfigSpaceError(`${kind}(${lower}, ${upper}, ${size}, castInt): rounding gives duplicate values ${JSON.stringify(values)}`);
  }
  return indexDomain(kind, values, () => ({ type: kind, lower, upper, size, cast_int: castInt }));
}

export const finrange = (lower: number, upper: number, size: number, opts: FinrangeOptions = {}) =>
  gridDomain('finrange', lower, upper, size, opts.castInt ?? false);
export const logfinrange = (lower: number, upper: number, size: number, opts: FinrangeOptions = {}) =>
  gridDomain('logfinrange', lower, upper, size, opts.castInt ?? false);

export function domainFromJSON(json: unknown, name = '?'): Domain {
  if (!json || typeof json !== 'object' || !('type' in json)) {
    throw new ConfigSpaceError(`hyperparameter '${name}': expected an object with a 'type', got ${JSON.stringify(json)}`);
  }
  const j = json as Record<string, unknown>;
  const num = (k: string) => j[k] as number;
  switch (j.type) {
    case 'choice':
      return choice(j.values as Value[]);
    case 'ordinal':
      return ordinal(j.values as Value[]);
    case 'uniform':
      return uniform(num('lower'), num('upper'));
    case 'loguniform':
      return loguniform(num('lower'), num('upper'));
    case 'randint':
      return randint(num('lower'), num('upper'));
    case 'lograndint':
      return lograndint(num('lower'), num('upper'));
    case 'finrange':
      return finrange(num('lower'), num('upper'), num('size'), { castInt: Boolean(j.cast_int) });
    case 'logfinrange':
      return logfinrange(num('lower'), num('upper'), num('size'), { castInt: Boolean(j.cast_int) });
    default:
      throw new ConfigSpaceError(
        `hyperparameter '${name}': unknown domain type ${JSON.stringify(j.type)}; valid types: choice, ordinal, uniform, loguniform, randint, lograndint, finrange, logfinrange`,
      );
  }
}

export function isDomain(x: unknown): x is Domain {
  return typeof x === 'object' && x !== null && 'kind' in x && 'sample' in x && 'encode' in x;
}
