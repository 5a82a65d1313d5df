// Seeded pseudo-random numbers for training (reproducible forests, samples and splits) on the
// project's generator (common/xoshiro.ts), seeded with the step ml's committed results use.
import { mix32, Xoshiro128 } from "../common/xoshiro.ts";

export { mix32 };

/** Seed for the `index`-th stream derived from `seed` (one per tree, say). */
export function deriveSeed(seed: number, index: number): number {
  return mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x27d4eb2f));
}

const SEED_STEP = 0x632be5ab;

export class Rng extends Xoshiro128 {
  constructor(seed: number) {
    super(seed, SEED_STEP);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.uint32() >>> 5;
    const lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}
