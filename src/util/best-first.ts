import { MinHeap } from './heap.js';

/**
 * The combinations of one choice per list (list f's choice an index into `scores[f]`, each list
 * sorted best first) in decreasing order of their summed scores; ties in the order of the index
 * tuples. Lazily: the k-th combination costs O(k · F · log(k · F)) for F lists, so a caller that
 * stops at the first acceptable one pays only for those it looked at.
 */
export function* combinationsBestFirst(scores: readonly Float64Array[]): Generator<Int32Array> {
  const F = scores.length;
  if (F === 0 || scores.some((s) => s.length === 0)) return;
  for (const s of scores) for (let i = 1; i < s.length; i++) if (s[i] > s[i - 1]) throw new Error('combinationsBestFirst: each list must be sorted best first');
  // a combination is reached from exactly one parent: increment only at or after the parent's last incremented list
  type Node = { at: Int32Array; sum: number; last: number };
  const tupleLess = (a: Int32Array, b: Int32Array) => {
    for (let f = 0; f < F; f++) if (a[f] !== b[f]) return a[f] < b[f];
    return false;
  };
  const heap = new MinHeap<Node>((a, b) => a.sum > b.sum || (a.sum === b.sum && tupleLess(a.at, b.at)));
  // summed afresh per combination (not updated by differences), so equal sums compare equal
  const total = (at: Int32Array) => {
    let sum = 0;
    for (let f = 0; f < F; f++) sum += scores[f][at[f]];
    return sum;
  };
  const first = new Int32Array(F);
  heap.push({ at: first, sum: total(first), last: 0 });
  for (let node = heap.pop(); node; node = heap.pop()) {
    yield Int32Array.from(node.at);
    for (let f = node.last; f < F; f++) {
      const i = node.at[f] + 1;
      if (i >= scores[f].length) continue;
      const at = Int32Array.from(node.at);
      at[f] = i;
      heap.push({ at, sum: total(at), last: f });
    }
  }
}
