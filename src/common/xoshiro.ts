// The one seeded pseudo-random generator of the project (xoshiro128**, its four words seeded by
// splitmix32): the same seed gives the same numbers on every platform. The synthetic MSD
// (msd/random.ts) and model training (ml/random.ts) build their draws on it, each with the
// seeding step its committed outputs were made with.

const GOLDEN_RATIO = 0x9e3779b9;

/** MurmurHash3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
export function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** SplitMix32's output function: a well-mixed 32-bit hash of a 32-bit integer. */
export function mix32(x: number): number {
  return fmix32((x + GOLDEN_RATIO) | 0);
}

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * Word i of the state is `mix32(seed + i × seedStep)`: a splitmix32 stream for the default
   * step (the golden ratio), another odd step for ml's generator.
   */
  constructor(seed: number, seedStep = GOLDEN_RATIO) {
    const start = seed >>> 0;
    this.s0 = mix32(start);
    this.s1 = mix32((start + seedStep) | 0);
    this.s2 = mix32((start + Math.imul(2, seedStep)) | 0);
    this.s3 = mix32((start + Math.imul(3, seedStep)) | 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  uint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
