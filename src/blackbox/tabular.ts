import { type Config, type ConfigSpace, configKey } from '../config-space/index.js';
import type { Blackbox } from './types.js';
import { type Surrogate, type SurrogateName, type SurrogateTable, surrogateFactories } from './surrogates/surrogate.js';

/** The data of a tabulated blackbox: objectives[N configs × S seeds × F fidelities × M objectives]. */
export interface TableData {
  configSpace: ConfigSpace;
  configurations: Config[];
  fidelityName: string;
  fidelityValues: number[];
  objectiveNames: string[];
  elapsedTimeAttr: string;
  numSeeds: number;
  objectives: Float32Array;
  metadata: Record<string, unknown>;
}

export class TabularBlackbox implements Blackbox, SurrogateTable {
  private readonly rowOf = new Map<string, number>();
  private surrogateInstance: Surrogate | undefined;

  constructor(
    readonly data: TableData,
    private readonly surrogateName: SurrogateName = 'nearest',
  ) {
    const { configurations, numSeeds, fidelityValues, objectiveNames, objectives } = data;
    const expected = configurations.length * numSeeds * fidelityValues.length * objectiveNames.length;
    if (objectives.length !== expected) {
      throw new Error(
        `table objectives hold ${objectives.length} values, expected ${configurations.length} configs × ${numSeeds} seeds × ${fidelityValues.length} fidelities × ${objectiveNames.length} objectives = ${expected}`,
      );
    }
    if (!objectiveNames.includes(data.elapsedTimeAttr)) {
      throw new Error(`table lacks its elapsed-time objective '${data.elapsedTimeAttr}'`);
    }
    configurations.forEach((c, i) => this.rowOf.set(configKey(data.configSpace, c), i));
  }

  get configSpace() {
    return this.data.configSpace;
  }
  get configurations() {
    return this.data.configurations;
  }
  get fidelityName() {
    return this.data.fidelityName;
  }
  get fidelityValues() {
    return this.data.fidelityValues;
  }
  get objectiveNames() {
    return this.data.objectiveNames;
  }
  get elapsedTimeAttr() {
    return this.data.elapsedTimeAttr;
  }
  get numSeeds() {
    return this.data.numSeeds;
  }
  get metadata() {
    return this.data.metadata;
  }

  rowCurve(row: number, seed: number): Float64Array {
    const { numSeeds, fidelityValues, objectiveNames, objectives } = this.data;
    const size = fidelityValues.length * objectiveNames.length;
    const start = (row * numSeeds + (seed % numSeeds)) * size;
    return Float64Array.from(objectives.subarray(start, start + size));
  }

  /** Quantiles (in [0, 1], nearest rank) of an objective over the whole table: every config, seed and fidelity; NaN skipped. */
  objectiveQuantiles(name: string, qs: readonly number[]): number[] {
    const { objectiveNames, objectives } = this.data;
    const m = objectiveNames.indexOf(name);
    if (m < 0) throw new Error(`objective '${name}' not in blackbox objectives ${objectiveNames.join(', ')}`);
    const values: number[] = [];
    for (let i = m; i < objectives.length; i += objectiveNames.length) if (!Number.isNaN(objectives[i])) values.push(objectives[i]);
    const sorted = Float64Array.from(values).sort();
    return qs.map((q) => sorted[Math.round(q * (sorted.length - 1))]);
  }

  /** Row of a tabulated config, or undefined. */
  rowOfConfig(config: Config): number | undefined {
    return this.rowOf.get(configKey(this.data.configSpace, config));
  }

  curve(config: Config, seed: number): Float64Array {
    const row = this.rowOfConfig(config);
    if (row !== undefined) return this.rowCurve(row, seed);
    this.surrogateInstance ??= surrogateFactories[this.surrogateName](this);
    return this.surrogateInstance.curve(config, seed);
  }
}

/** Tabulate any blackbox on the given configs and seeds (e.g. to freeze a closed-form benchmark). */
export async function tabulate(blackbox: Blackbox, configurations: Config[], seeds: number[], metadata: Record<string, unknown> = {}): Promise<TableData> {
  const F = blackbox.fidelityValues.length;
  const M = blackbox.objectiveNames.length;
  const objectives = new Float32Array(configurations.length * seeds.length * F * M);
  let offset = 0;
  for (const config of configurations) {
    for (const seed of seeds) {
      objectives.set(await blackbox.curve(config, seed), offset);
      offset += F * M;
    }
  }
  return {
    configSpace: blackbox.configSpace,
    configurations,
    fidelityName: blackbox.fidelityName,
    fidelityValues: [...blackbox.fidelityValues],
    objectiveNames: [...blackbox.objectiveNames],
    elapsedTimeAttr: blackbox.elapsedTimeAttr,
    numSeeds: seeds.length,
    objectives,
    metadata: { ...blackbox.metadata, ...metadata },
  };
}
