/**
 * A multiset of numbers that answers "how many are below x" and "which is the k-th" in O(log n): a treap whose nodes hold a
 * distinct key, its multiplicity and their subtree's size. Insert-only (what rung statistics need).
 * Priorities come from a fixed xorshift sequence, so the shape, like the answers, is reproducible.
 */
export class RankTree {
  private readonly key: number[] = [];
  private readonly count: number[] = [];
  private readonly sizes: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly priority: number[] = [];
  private root = -1;
  private prioState = 0x9e3779b9;

  get size(): number {
    return this.root < 0 ? 0 : this.sizes[this.root];
  }

  insert(x: number): void {
    this.root = this.insertAt(this.root, x);
  }

  /** Number of elements strictly below `x`. */
  countBelow(x: number): number {
    let node = this.root;
    let below = 0;
    while (node >= 0) {
      const k = this.key[node];
      if (x < k) node = this.left[node];
      else if (x === k) return below + this.sizeOf(this.left[node]);
      else {
        below += this.sizeOf(this.left[node]) + this.count[node];
        node = this.right[node];
      }
    }
    return below;
  }

  /** The element of rank `k` (0: the smallest), counting repeats; undefined past the end. */
  select(k: number): number | undefined {
    let node = this.root;
    while (node >= 0) {
      const left = this.sizeOf(this.left[node]);
      if (k < left) node = this.left[node];
      else if (k < left + this.count[node]) return this.key[node];
      else {
        k -= left + this.count[node];
        node = this.right[node];
      }
    }
    return undefined;
  }

  private sizeOf(node: number): number {
    return node < 0 ? 0 : this.sizes[node];
  }

  private nextPriority(): number {
    let s = this.prioState;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.prioState = s >>> 0;
    return this.prioState;
  }

  private insertAt(node: number, x: number): number {
    if (node < 0) {
      const n = this.key.length;
      this.key.push(x);
      this.count.push(1);
      this.sizes.push(1);
      this.left.push(-1);
      this.right.push(-1);
      this.priority.push(this.nextPriority());
      return n;
    }
    this.sizes[node]++;
    const k = this.key[node];
    if (x === k) {
      this.count[node]++;
    } else if (x < k) {
      const child = (this.left[node] = this.insertAt(this.left[node], x));
      if (this.priority[child] > this.priority[node]) return this.rotate(node, child, this.left, this.right);
    } else {
      const child = (this.right[node] = this.insertAt(this.right[node], x));
      if (this.priority[child] > this.priority[node]) return this.rotate(node, child, this.right, this.left);
    }
    return node;
  }

  /** Lifts `child` (on `node`'s `down` side) above `node`; `up` is the other side. */
  private rotate(node: number, child: number, down: number[], up: number[]): number {
    down[node] = up[child];
    up[child] = node;
    this.sizes[child] = this.sizes[node];
    this.sizes[node] = this.count[node] + this.sizeOf(this.left[node]) + this.sizeOf(this.right[node]);
    return child;
  }
}
