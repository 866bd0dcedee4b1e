/** Edit distance (insert, delete, substitute, swap two neighbours), case-insensitive, `-` and `_` alike. */
function distance(a: string, b: string): number {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_');
  const [x, y] = [norm(a), norm(b)];
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** The candidate closest to a mistyped word, when one is close enough to be the likely intent (a third of its letters, at least 1, at most 3). */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = distance(word, c);
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  return bestDistance <= Math.min(3, Math.max(1, Math.floor(word.length / 3))) ? best : undefined;
}

/** ` (did you mean X?)`, or nothing. */
export function didYouMeanText(word: string, candidates: Iterable<string>, show = (c: string) => c): string {
  const c = didYouMean(word, candidates);
  return c === undefined ? '' : ` (did you mean ${show(c)}?)`;
}
