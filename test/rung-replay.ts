/**
 * An independent replay of ASHA's rungs (stopping type), written naively (every member of a rung
 * compared, sorted afresh) to check the decisions and reasons that schedulers and stores record.
 */
export interface NaiveCall {
  /** Index of the result in the sequence replayed (a report's id, a results row's position). */
  at: number;
  trial: number;
  level: number;
  value: number;
  rank: number;
  size: number;
  keep: number;
  threshold: number;
  stop: boolean;
}

/** Results in the order the decider saw them: each enters every rung level ≤ its resource it has not entered (none at maxT or beyond). */
export function naiveRungs(results: readonly { at: number; trial: number; resource: number; value: number }[], levels: readonly number[], eta: number, maxT: number, mode: 'min' | 'max' = 'min'): NaiveCall[] {
  const sign = mode === 'min' ? 1 : -1;
  const members = new Map<number, number[]>();
  const entered = new Map<number, Set<number>>();
  const calls: NaiveCall[] = [];
  for (const r of results) {
    if (r.resource >= maxT) continue;
    const mine = entered.get(r.trial) ?? new Set();
    entered.set(r.trial, mine);
    for (const level of levels.filter((l) => l <= r.resource && !mine.has(l))) {
      mine.add(level);
      const values = [...(members.get(level) ?? []), r.value];
      members.set(level, values);
      const better = values.filter((v) => sign * v < sign * r.value).length;
      const keep = Math.ceil(values.length / eta);
      const threshold = [...values].sort((a, b) => sign * (a - b))[keep - 1];
      calls.push({ at: r.at, trial: r.trial, level, value: r.value, rank: better + 1, size: values.length, keep, threshold, stop: better >= keep });
    }
  }
  return calls;
}
