import type { SeededRandom } from './random.js';

/**
 * Which subscriber the next event belongs to: Zipf-like popularity over N
 * subscribers (weight of rank r = 1 / r^exponent), so that a few keys are very
 * hot and most are cold, as with real audiences. Ranks are shuffled onto
 * subscriber indexes by the seed, so the hottest key is not always index 0.
 */
export class Popularity {
  private readonly cumulative: Float64Array;
  /** rank -> subscriber index */
  private readonly byRank: Uint32Array;

  constructor(
    readonly subscribers: number,
    readonly exponent: number,
    random: SeededRandom,
  ) {
    this.cumulative = new Float64Array(subscribers);
    let total = 0;
    for (let rank = 0; rank < subscribers; rank += 1) {
      total += 1 / (rank + 1) ** exponent;
      this.cumulative[rank] = total;
    }
    for (let rank = 0; rank < subscribers; rank += 1) this.cumulative[rank] = (this.cumulative[rank] ?? 0) / total;
    this.byRank = new Uint32Array(subscribers);
    for (let i = 0; i < subscribers; i += 1) this.byRank[i] = i;
    for (let i = subscribers - 1; i > 0; i -= 1) {
      const j = random.int(i + 1);
      const swap = this.byRank[i] ?? 0;
      this.byRank[i] = this.byRank[j] ?? 0;
      this.byRank[j] = swap;
    }
  }

  /** A subscriber index drawn by popularity. */
  draw(random: SeededRandom): number {
    const u = random.next();
    let low = 0;
    let high = this.subscribers - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.cumulative[mid] ?? 1) < u) low = mid + 1;
      else high = mid;
    }
    return this.byRank[low] ?? 0;
  }

  /** The subscriber indexes of the `count` most popular ranks, hottest first. */
  hottest(count: number): number[] {
    return Array.from(this.byRank.subarray(0, Math.min(count, this.subscribers)));
  }

  /** The share of all events that rank `rank` (0 = hottest) receives. */
  share(rank: number): number {
    const upper = this.cumulative[rank] ?? 1;
    const lower = rank === 0 ? 0 : (this.cumulative[rank - 1] ?? 0);
    return upper - lower;
  }
}
