import { normalCdf } from '../src/schedulers/gp/acquisition.js';

/**
 * Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction; fine for
 * 20+ values per sample, which is what the benches that use it run).
 */
export function mannWhitneyP(a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, inA: true })), ...b.map((v) => ({ v, inA: false }))].sort((x, y) => x.v - y.v);
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    for (let k = i; k <= j; k++) if (all[k].inA) rankSumA += rank;
    i = j + 1;
  }
  const [na, nb] = [a.length, b.length];
  const u = rankSumA - (na * (na + 1)) / 2;
  const sd = Math.sqrt(((na * nb) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  if (sd === 0) return 1;
  // continuity correction towards the mean
  const z = Math.max(0, Math.abs(u - (na * nb) / 2) - 0.5) / sd;
  return Math.min(1, 2 * (1 - normalCdf(z)));
}
