/** The first index in [0, n) at which `before` is false, where it holds on a prefix of the indices and on none after: a binary search. */
export function partitionPoint(n: number, before: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of `arr` (sorted by `less`) that is not less than `item`. */
function lowerBound<T>(arr: readonly T[], item: T, less: (a: T, b: T) => boolean): number {
  return partitionPoint(arr.length, (i) => less(arr[i], item));
}

/** Inserts `item` into `arr`, kept sorted by `less` (after equal elements' predecessors): O(log n) search, one splice. */
export function insertSorted<T>(arr: T[], item: T, less: (a: T, b: T) => boolean): void {
  arr.splice(lowerBound(arr, item, less), 0, item);
}

/** Removes `item` (the same object) from `arr`, kept sorted by `less`; nothing if absent. */
export function removeSorted<T>(arr: T[], item: T, less: (a: T, b: T) => boolean): void {
  let i = lowerBound(arr, item, less);
  while (i < arr.length && arr[i] !== item) i++;
  if (i < arr.length) arr.splice(i, 1);
}
