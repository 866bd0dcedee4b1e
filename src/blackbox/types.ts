import type { Config, ConfigSpace } from '../config-space/index.js';

/**
 * A multi-fidelity benchmark the simulator can replay: for a config and a seed index it gives the
 * whole learning curve, i.e. every objective at every fidelity, including the cumulative elapsed
 * training time (the objective named `elapsedTimeAttr`).
 */
export interface Blackbox {
  readonly configSpace: ConfigSpace;
  /** e.g. 'epoch' */
  readonly fidelityName: string;
  /** Increasing fidelity values, e.g. 1..100. */
  readonly fidelityValues: readonly number[];
  readonly objectiveNames: readonly string[];
  /** Cumulative training time (seconds) up to and including each fidelity. */
  readonly elapsedTimeAttr: string;
  readonly numSeeds: number;
  /**
   * Objective values for (config, seed) as a row-major [fidelity × objective] array:
   * value of objective m at fidelity index f is `curve[f * objectiveNames.length + m]`.
   */
  curve(config: Config, seed: number): Float64Array | Promise<Float64Array>;
  /**
   * For a blackbox whose cost grows with the fidelities it computes (a surrogate model): the first
   * `upTo` rows (or more) of `curve(config, seed)`, with the same bits. Most trials stop early, so the
   * simulator asks for growing prefixes when this is offered.
   */
  curvePrefix?(config: Config, seed: number, upTo: number): Float64Array | Promise<Float64Array>;
  /** The tabulated configs of a table blackbox (what `--restrict_configurations` samples from). */
  readonly configurations?: readonly Config[];
  /** Source, licence, citation. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export function objectiveIndex(blackbox: Blackbox, name: string): number {
  const i = blackbox.objectiveNames.indexOf(name);
  if (i < 0) throw new Error(`objective '${name}' not in blackbox objectives ${blackbox.objectiveNames.join(', ')}`);
  return i;
}
