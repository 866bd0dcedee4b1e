import type { Rng } from '../util/rng.js';
import { type Domain, type DomainJSON, type Value, ConfigSpaceError, domainFromJSON, isDomain } from './domains.js';

/** A config space: hyperparameter name → domain, or a constant (a fixed value, not searched). */
export type ConfigSpace = Record<string, Domain | Value>;
export type Config = Record<string, Value>;
export type ConfigSpaceJSON = Record<string, DomainJSON | { type: 'constant'; value: Value }>;

/** The searched hyperparameters, in the space's (insertion) order. */
export function hyperparameters(space: ConfigSpace): [string, Domain][] {
  return Object.entries(space).filter((e): e is [string, Domain] => isDomain(e[1]));
}

export function validateConfigSpace(space: unknown): asserts space is ConfigSpace {
  if (!space || typeof space !== 'object' || Array.isArray(space)) {
    throw new ConfigSpaceError(`a config space must be an object of name → domain, got ${JSON.stringify(space)}`);
  }
  const entries = Object.entries(space);
  if (entries.length === 0) throw new ConfigSpaceError('the config space is empty');
  for (const [name, d] of entries) {
    if (isDomain(d)) continue;
    if (typeof d === 'string' || typeof d === 'boolean' || (typeof d === 'number' && Number.isFinite(d))) continue;
    throw new ConfigSpaceError(`hyperparameter '${name}': expected a domain or a constant, got ${JSON.stringify(d)}`);
  }
}

export function sampleConfig(space: ConfigSpace, rng: Rng): Config {
  const config: Config = {};
  for (const [name, d] of Object.entries(space)) config[name] = isDomain(d) ? d.sample(rng) : d;
  return config;
}

/** Throws a ConfigSpaceError naming the first bad or missing value. */
export function validateConfig(space: ConfigSpace, config: Config): void {
  for (const [name, d] of Object.entries(space)) {
    if (!(name in config)) throw new ConfigSpaceError(`config lacks hyperparameter '${name}'`);
    const v = config[name];
    const ok = isDomain(d) ? d.contains(v) : v === d;
    if (!ok) throw new ConfigSpaceError(`config value ${name}=${JSON.stringify(v)} is outside ${JSON.stringify(isDomain(d) ? d.toJSON() : d)}`);
  }
}

export function encodedDim(space: ConfigSpace): number {
  return hyperparameters(space).reduce((n, [, d]) => n + d.encodedSize, 0);
}

/** [0,1]^d encoding of the searched hyperparameters (constants carry no information). */
export function encodeConfig(space: ConfigSpace, config: Config, out = new Float64Array(encodedDim(space)), offset = 0): Float64Array {
  let o = offset;
  for (const [name, d] of hyperparameters(space)) {
    d.encode(config[name], out, o);
    o += d.encodedSize;
  }
  return out;
}

export function decodeConfig(space: ConfigSpace, encoded: ArrayLike<number>): Config {
  const config: Config = {};
  let o = 0;
  for (const [name, d] of Object.entries(space)) {
    if (isDomain(d)) {
      config[name] = d.decode(encoded, o);
      o += d.encodedSize;
    } else config[name] = d;
  }
  return config;
}

/** A canonical key: equal configs of a space give equal keys. */
export function configKey(space: ConfigSpace, config: Config): string {
  return JSON.stringify(Object.keys(space).map((name) => config[name]));
}

/** Number of distinct configs, or Infinity when some domain is continuous. */
export function spaceSize(space: ConfigSpace): number {
  let n = 1;
  for (const [, d] of hyperparameters(space)) n *= d.finiteValues ? d.finiteValues.length : Infinity;
  return n;
}

/** Fix some hyperparameters to constants (how a method restricts a benchmark's space). */
export function fixHyperparameters(space: ConfigSpace, fixed: Config): ConfigSpace {
  const out: ConfigSpace = { ...space };
  for (const [name, value] of Object.entries(fixed)) {
    const d = space[name];
    if (d === undefined) {
      throw new ConfigSpaceError(`cannot fix '${name}': not in the config space (${Object.keys(space).join(', ')})`);
    }
    if (isDomain(d) ? !d.contains(value) : d !== value) {
      throw new ConfigSpaceError(`cannot fix ${name}=${JSON.stringify(value)}: outside ${JSON.stringify(isDomain(d) ? d.toJSON() : d)}`);
    }
    out[name] = value;
  }
  return out;
}

export function configSpaceToJSON(space: ConfigSpace): ConfigSpaceJSON {
  const out: ConfigSpaceJSON = {};
  for (const [name, d] of Object.entries(space)) out[name] = isDomain(d) ? d.toJSON() : { type: 'constant', value: d };
  return out;
}

export function configSpaceFromJSON(json: unknown): ConfigSpace {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigSpaceError(`a config space JSON must be an object, got ${JSON.stringify(json)}`);
  }
  const space: ConfigSpace = {};
  for (const [name, d] of Object.entries(json as Record<string, unknown>)) {
    if (d && typeof d === 'object' && (d as { type?: unknown }).type === 'constant') space[name] = (d as { value: Value }).value;
    else space[name] = domainFromJSON(d, name);
  }
  validateConfigSpace(space);
  return space;
}
