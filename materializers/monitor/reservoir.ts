// A uniform sample of bounded size (Algorithm R) with a seeded generator: the same data gives the same
// sample, run after run, so health rows and baselines do not change between two runs over one range.
import { seededRandom } from '../../schema/random.js';

export class Reservoir<T> {
  /** Items offered so far. */
  seen = 0;
  /** Every item offered while fewer than `cap` were; past that, a uniform sample of `cap` of them. */
  readonly items: T[] = [];
  private readonly random: () => number;

  constructor(readonly cap: number, seed = 0x5eed) {
    this.random = seededRandom(seed);
  }

  add(item: T): void {
    this.seen++;
    if (this.items.length < this.cap) {
      this.items.push(item);
      return;
    }
    // The n-th item replaces a kept one with probability cap / n.
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.cap) this.items[slot] = item;
  }
}
