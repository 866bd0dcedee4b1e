import type { Rng } from '../util/rng.js';
import { conditionHolds, conditionProblems, hasConditions, parameterOrder, when } from './conditions.js';
import { type Domain, type DomainJSON, type Value, ConfigSpaceError, domainFromJSON, isDomain } from './domains.js';

/**
 * A config space: hyperparameter name → domain, or a constant (a fixed value, not searched). A
 * domain made with `when(condition, domain)` is conditional: active only while its condition holds,
 * absent from the config otherwise.
 */
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
  const problems = conditionProblems(space as ConfigSpace);
  if (problems.length) throw new ConfigSpaceError(problems.map((p) => `hyperparameter '${p.name}': ${p.message}`).join('; '));
}

/** A random config: each active hyperparameter drawn (conditions' parameters first), inactive ones left out. */
export function sampleConfig(space: ConfigSpace, rng: Rng): Config {
  const config: Config = {};
  if (!hasConditions(space)) {
    for (const [name, d] of Object.entries(space)) config[name] = isDomain(d) ? d.sample(rng) : d;
    return config;
  }
  for (const name of parameterOrder(space)) {
    const d = space[name];
    if (conditionHolds(d, config)) config[name] = isDomain(d) ? d.sample(rng) : d;
  }
  return inSpaceOrder(space, config);
}

/** The config's keys in the space's order (the order rows, keys and trials see). */
function inSpaceOrder(space: ConfigSpace, config: Config): Config {
  const out: Config = {};
  for (const name of Object.keys(space)) if (name in config) out[name] = config[name];
  return out;
}

/** True if the hyperparameter is active in `config` (its condition, if any, holds). */
export function isActive(space: ConfigSpace, config: Config, name: string): boolean {
  return conditionHolds(space[name], config);
}

/** The config without the hyperparameters that are inactive in it. */
export function activeConfig(space: ConfigSpace, config: Config): Config {
  if (!hasConditions(space)) return config;
  const out: Config = {};
  for (const name of parameterOrder(space)) if (name in config && conditionHolds(space[name], out)) out[name] = config[name];
  return inSpaceOrder(space, out);
}

/** Throws a ConfigSpaceError naming the first bad, missing or inactive-but-given value. */
export function validateConfig(space: ConfigSpace, config: Config): void {
  for (const name of hasConditions(space) ? parameterOrder(space) : Object.keys(space)) {
    const d = space[name];
    if (!conditionHolds(d, config)) {
      if (name in config) throw new ConfigSpaceError(`config gives '${name}', which is inactive unless ${conditionText((d as Domain).condition!)}; leave it out`);
      continue;
    }
    if (!(name in config)) throw new ConfigSpaceError(`config lacks hyperparameter '${name}'`);
    const v = config[name];
    const ok = isDomain(d) ? d.contains(v) : v === d;
    if (!ok) throw new ConfigSpaceError(`config value ${name}=${JSON.stringify(v)} is outside ${JSON.stringify(isDomain(d) ? d.toJSON() : d)}`);
  }
}

/** "optimizer is sgd", "optimizer is one of sgd, rmsprop and depth is 2". */
export const conditionText = (condition: NonNullable<Domain['condition']>) =>
  Object.entries(condition)
    .map(([name, values]) => (values.length === 1 ? `${name} is ${String(values[0])}` : `${name} is one of ${values.map(String).join(', ')}`))
    .join(' and ');

export function encodedDim(space: ConfigSpace): number {
  return hyperparameters(space).reduce((n, [, d]) => n + d.encodedSize, 0);
}

/**
 * [0,1]^d encoding of the searched hyperparameters (constants carry no information). An inactive
 * hyperparameter's coordinates are all 0 (no category of a one-hot `choice`; the lower end of the
 * others): every config where it is inactive is the same point on its axes, and its parent's
 * coordinates already tell active from inactive.
 */
export function encodeConfig(space: ConfigSpace, config: Config, out = new Float64Array(encodedDim(space)), offset = 0): Float64Array {
  let o = offset;
  for (const [name, d] of hyperparameters(space)) {
    if (name in config) d.encode(config[name], out, o);
    else out.fill(0, o, o + d.encodedSize);
    o += d.encodedSize;
  }
  return out;
}

/** The config an encoding stands for; hyperparameters inactive under the decoded values are left out. */
export function decodeConfig(space: ConfigSpace, encoded: ArrayLike<number>): Config {
  const config: Config = {};
  let o = 0;
  for (const [name, d] of Object.entries(space)) {
    if (isDomain(d)) {
      config[name] = d.decode(encoded, o);
      o += d.encodedSize;
    } else config[name] = d;
  }
  return activeConfig(space, config);
}

/** A canonical key: equal configs of a space give equal keys (an inactive hyperparameter as null). */
export function configKey(space: ConfigSpace, config: Config): string {
  return JSON.stringify(Object.keys(space).map((name) => config[name]));
}

/** Number of distinct configs (with conditions: of the valid ones), or Infinity when some active domain is continuous. */
export function spaceSize(space: ConfigSpace): number {
  if (!hasConditions(space)) {
    let n = 1;
    for (const [, d] of hyperparameters(space)) n *= d.finiteValues ? d.finiteValues.length : Infinity;
    return n;
  }
  // branch on the values of the parameters that conditions name; the others multiply
  const order = parameterOrder(space);
  const parents = new Set(Object.values(space).flatMap((d) => (isDomain(d) && d.condition ? Object.keys(d.condition) : [])));
  const count = (i: number, config: Config): number => {
    if (i === order.length) return 1;
    const name = order[i];
    const d = space[name];
    if (!conditionHolds(d, config)) return count(i + 1, config);
    if (!isDomain(d)) return count(i + 1, { ...config, [name]: d });
    if (!parents.has(name)) return (d.finiteValues ? d.finiteValues.length : Infinity) * count(i + 1, config);
    let n = 0;
    for (const v of d.finiteValues!) n += count(i + 1, { ...config, [name]: v });
    return n;
  };
  return count(0, {});
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
    if (isDomain(d) && d.condition) throw new ConfigSpaceError(`cannot fix '${name}': it is conditional (active only when ${conditionText(d.condition)})`);
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
    else if (d && typeof d === 'object' && 'when' in d) {
      const { when: condition, ...rest } = d as DomainJSON;
      space[name] = when(condition as Record<string, Value[]>, domainFromJSON(rest, name));
    } else space[name] = domainFromJSON(d, name);
  }
  validateConfigSpace(space);
  return space;
}
