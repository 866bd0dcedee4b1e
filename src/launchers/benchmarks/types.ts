import type { Mode } from '../../schedulers/types.js';
import type { Objective } from '../../results/pareto.js';
import type { SurrogateName } from '../../blackbox/surrogates/surrogate.js';

/** A tuning problem with its defaults (DESIGN.md §3). */
export interface BenchmarkDefinition {
  name: string;
  description: string;
  /** Blackbox name (and dataset) in the blackbox repository. */
  blackbox: string;
  dataset?: string;
  /** The first objective (the only one of a single-objective benchmark). */
  metric: string;
  mode: Mode;
  /**
   * Several objectives (the first is metric/mode). Their hypervolume is taken in [0, 1] per
   * objective, from the table's best value (→ 0) to its 90th percentile counted from the best (→ 1),
   * over every config, seed and fidelity, with the reference point at 1.1 per objective: fixed per
   * benchmark (src/launchers/experiment.ts tableHypervolumeSetting), stored in metadata.json.
   */
  objectives?: Objective[];
  /**
   * For several objectives on a blackbox without a table (a surrogate): each objective's value
   * mapped to 0 and its value mapped to 1 ([best, worst], in the metric's own units), fixed in the
   * definition instead of read from a table; the reference point is at 1.1 per objective.
   */
  hypervolumeBounds?: [number, number][];
  elapsedTimeAttr: string;
  /** Resource attribute (the blackbox fidelity), e.g. 'epoch'. */
  maxResourceAttr: string;
  /** Simulated seconds. */
  maxWallclockTime: number;
  nWorkers: number;
  surrogate?: SurrogateName;
  /** Part of the set run when no --benchmark is given. */
  isDefault?: boolean;
  /**
   * How to train a config for real (`--backend local`): the command gets the config as `--name value`
   * arguments and reports `[tunelab] {json}` lines (see src/backends/local.ts). The config space and
   * resource levels are the blackbox's.
   */
  local?: { command: string[]; cwd?: string; trialTimeout?: number };
  /**
   * Where its data comes from: computed in closed form, shipped with tunelab (both run without a
   * download), or installed once by the `tunelab blackbox …` command given.
   */
  data?: 'closed form' | 'shipped' | { command: string };
  /** Source, licence and citation, shown by `tunelab benchmarks --info`. */
  info?: { source: string; licence: string; citation?: string };
}
