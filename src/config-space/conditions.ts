import { didYouMeanText } from '../util/did-you-mean.js';
import { type Domain, type Value, ConfigSpaceError, isDomain } from './domains.js';

/**
 * When a hyperparameter is active: every named parameter is active and takes one of the listed
 * values (`{optimizer: ['sgd']}`: momentum only if the optimizer is sgd). An inactive parameter is
 * absent from the config, never given a dummy value.
 */
export type Condition = NonNullable<Domain['condition']>;

/** A config space as the condition helpers see it (the same shape as space.ts's ConfigSpace). */
type Space = Record<string, Domain | Value>;
type Partial = Record<string, Value>;

/** The domain active only under `condition` (a single value stands for a list of one). */
export function when(condition: Readonly<Record<string, Value | readonly Value[]>>, domain: Domain): Domain {
  if (!condition || typeof condition !== 'object' || Array.isArray(condition) || Object.keys(condition).length === 0) {
    throw new ConfigSpaceError(`a condition names at least one parameter and its values, e.g. {optimizer: ['sgd']}; got ${JSON.stringify(condition)}`);
  }
  const normal: Record<string, Value[]> = {};
  for (const [name, v] of Object.entries(condition)) {
    const values = Array.isArray(v) ? [...(v as Value[])] : [v as Value];
    if (values.length === 0) throw new ConfigSpaceError(`condition on '${name}': list at least one value`);
    normal[name] = values;
  }
  // a condition on a conditional domain: both must hold
  const merged = domain.condition ? { ...domain.condition, ...normal } : normal;
  return Object.freeze({ ...domain, condition: merged, toJSON: () => ({ ...domain.toJSON(), when: merged }) });
}

/** True when the space has at least one conditional hyperparameter. */
export function hasConditions(space: Space): boolean {
  for (const d of Object.values(space)) if (isDomain(d) && d.condition) return true;
  return false;
}

/** True if `domain`'s condition holds in `config` (whose inactive parameters are absent). */
export function conditionHolds(domain: Domain | Value, config: Partial): boolean {
  if (!isDomain(domain) || !domain.condition) return true;
  for (const name in domain.condition) {
    if (!(name in config) || !domain.condition[name].includes(config[name])) return false;
  }
  return true;
}

const orders = new WeakMap<Space, string[]>();

/**
 * The parameters with every condition's parameters before the parameter that names them, otherwise
 * in the space's order (so a space without conditions keeps its own order, and its random draws).
 * Assumes conditionProblems found nothing.
 */
export function parameterOrder(space: Space): readonly string[] {
  let order = orders.get(space);
  if (order) return order;
  const names = Object.keys(space);
  order = [];
  const placed = new Set<string>();
  while (order.length < names.length) {
    const before = order.length;
    for (const name of names) {
      if (placed.has(name)) continue;
      const d = space[name];
      const parents = isDomain(d) && d.condition ? Object.keys(d.condition) : [];
      if (parents.every((p) => placed.has(p))) {
        order.push(name);
        placed.add(name);
      }
    }
    if (order.length === before) throw new ConfigSpaceError(conditionProblems(space)[0]?.message ?? 'the conditions form a cycle');
  }
  orders.set(space, order);
  return order;
}

/**
 * What is wrong with the space's conditions, one problem per entry: a parameter that does not exist,
 * a value outside its parameter's domain, a parameter that is continuous (a condition lists values),
 * a condition on the parameter itself, and cycles.
 */
export function conditionProblems(space: Space): { name: string; message: string }[] {
  const problems: { name: string; message: string }[] = [];
  const names = Object.keys(space);
  for (const [name, d] of Object.entries(space)) {
    if (!isDomain(d) || !d.condition) continue;
    for (const [parent, values] of Object.entries(d.condition)) {
      const p = space[parent];
      if (parent === name) problems.push({ name, message: `the condition names '${name}' itself` });
      else if (p === undefined) {
        const others = names.filter((n) => n !== name);
        problems.push({ name, message: `the condition names '${parent}', which is not a parameter${didYouMeanText(parent, others, (c) => `'${c}'`)}; parameters: ${others.join(', ')}` });
      } else if (isDomain(p) && !p.finiteValues) {
        problems.push({ name, message: `the condition names '${parent}', a continuous parameter (${p.kind}); a condition's parameter has a finite list of values (categorical, ordinal, int, grid)` });
      } else {
        const accepted = isDomain(p) ? p.finiteValues! : [p];
        const bad = values.filter((v) => !accepted.includes(v));
        if (bad.length) {
          problems.push({ name, message: `the condition's value${bad.length > 1 ? 's' : ''} ${bad.map((v) => JSON.stringify(v)).join(', ')} ${bad.length > 1 ? 'are' : 'is'} not in '${parent}'; accepted: ${accepted.map((v) => JSON.stringify(v)).join(', ')}` });
        }
      }
    }
  }
  const cycle = findCycle(space);
  if (cycle) problems.push({ name: cycle[0], message: `the conditions form a cycle: ${cycle.join(' → ')} (each is active only under the next)` });
  return problems;
}

/** A cycle of conditions (a → b → … → a, each active only under the next), if there is one. */
function findCycle(space: Space): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'open') return [...path.slice(path.indexOf(name)), name];
    state.set(name, 'open');
    path.push(name);
    const d = space[name];
    for (const parent of isDomain(d) && d.condition ? Object.keys(d.condition) : []) {
      if (parent === name || space[parent] === undefined) continue;
      const found = visit(parent);
      if (found) return found;
    }
    path.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(space)) {
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * The config made valid after some of its values changed (a mutation, a crossover, a model's
 * draw): parameters whose condition no longer holds are dropped, and active ones that are missing
 * are drawn with `fill`; keys in the space's order.
 */
export function repairConfig(space: Space, config: Partial, fill: (name: string, domain: Domain) => Value): Partial {
  const out: Partial = {};
  for (const name of parameterOrder(space)) {
    const d = space[name];
    if (!conditionHolds(d, out)) continue;
    if (!isDomain(d)) out[name] = d;
    else out[name] = name in config ? config[name] : fill(name, d);
  }
  return Object.fromEntries(Object.keys(space).filter((k) => k in out).map((k) => [k, out[k]]));
}
