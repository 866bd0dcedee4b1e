import type { Mode } from '../../schedulers/types.js';
import type { SurrogateName } from '../../blackbox/surrogate.js';

/** A tuning problem with its defaults (DESIGN.md §3). */
export interface BenchmarkDefinition {
  name: string;
  description: string;
  /** Blackbox name (and dataset) in the blackbox repository. */
  blackbox: string;
  dataset?: string;
  metric: string;
  mode: Mode;
  elapsedTimeAttr: string;
  /** Resource attribute (the blackbox fidelity), e.g. 'epoch'. */
  maxResourceAttr: string;
  /** Simulated seconds. */
  maxWallclockTime: number;
  nWorkers: number;
  surrogate?: SurrogateName;
  /** Part of the set run when no --benchmark is given. */
  isDefault?: boolean;
  /** Source, licence and citation, shown by `tunelab benchmarks --info`. */
  info?: { source: string; licence: string; citation?: string };
}
