import { partitionPoint } from '../util/sorted.js';

/**
 * The hypervolume of a 2-D front kept up to date point by point (both objectives minimised): the
 * front as a staircase (x ascending, y strictly descending, every point inside the reference), and
 * its volume changed by each new point's exclusive contribution. A point costs a binary search, the
 * steps it dominates (each removed once) and one splice, instead of a sweep over the whole front.
 */
export class Staircase2D {
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];
  private vol = 0;

  constructor(
    private readonly rx: number,
    private readonly ry: number,
  ) {}

  get volume(): number {
    return this.vol;
  }

  get size(): number {
    return this.xs.length;
  }

  /** Adds a point; returns the volume it adds (0 when a step dominates or equals it, or it is not inside the reference). */
  add(x: number, y: number): number {
    const { xs, ys, rx, ry } = this;
    if (!(x < rx && y < ry)) return 0;
    // pred: the last step with xs ≤ x; it alone decides whether the front dominates the point
    const lo = partitionPoint(xs.length, (i) => xs[i] <= x);
    const pred = lo - 1;
    if (pred >= 0 && ys[pred] <= y) return 0;
    // a step at the same x with a larger y is dominated and goes; the front's height at x is pred's all the same
    const start = pred >= 0 && xs[pred] === x ? pred : lo;
    let height = pred >= 0 ? ys[pred] : ry;
    let from = x;
    let gained = 0;
    let end = lo;
    // the steps right of x down to y are dominated; the area under each, above y, is new
    while (end < xs.length && ys[end] >= y) {
      gained += (xs[end] - from) * (height - y);
      from = xs[end];
      height = ys[end];
      end++;
    }
    gained += ((end < xs.length ? xs[end] : rx) - from) * (height - y);
    xs.splice(start, end - start, x);
    ys.splice(start, end - start, y);
    this.vol += gained;
    return gained;
  }
}
