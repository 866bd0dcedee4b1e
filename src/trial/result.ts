/**
 * One result reported by a trial: its resource level (e.g. epoch) and metric values. The protocol
 * between backends (which receive it), the tuner (which routes it) and schedulers (which decide on it).
 */
export interface TrialResult {
  readonly resource: number;
  readonly metrics: Readonly<Record<string, number>>;
}
