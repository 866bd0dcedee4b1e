import { unknownName } from '../../util/errors.js';
import { syntheticBenchmarks } from './synthetic.js';
import { yahpoBenchmarks, yahpoMOBenchmarks } from './yahpo.js';
import { simpleTableBenchmarks } from './simple-tables.js';
import { tabulatedBenchmarks } from './tabulated.js';
import type { BenchmarkDefinition } from './types.js';

export type { BenchmarkDefinition } from './types.js';

/** The built-in benchmark registry; each family contributes its list. */
export const benchmarkDefinitions: Record<string, BenchmarkDefinition> = Object.fromEntries(
  [...syntheticBenchmarks, ...yahpoBenchmarks, ...yahpoMOBenchmarks, ...simpleTableBenchmarks, ...tabulatedBenchmarks].map((b) => [b.name, b]),
);

export function getBenchmark(name: string, registry: Record<string, BenchmarkDefinition> = benchmarkDefinitions): BenchmarkDefinition {
  const b = registry[name];
  if (!b) throw unknownName('benchmark', name, Object.keys(registry));
  return b;
}

/** What runs when no --benchmark is given. */
export function defaultBenchmarks(registry: Record<string, BenchmarkDefinition> = benchmarkDefinitions): string[] {
  const defaults = Object.values(registry).filter((b) => b.isDefault).map((b) => b.name);
  return defaults.length > 0 ? defaults : Object.keys(registry);
}
