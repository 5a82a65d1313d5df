// Seeded pseudo-random numbers (xoshiro128**) so that training is reproducible.

/** SplitMix32 finaliser: a well-mixed 32-bit hash of a 32-bit integer. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seed for the `index`-th stream derived from `seed` (one per tree, say). */
export function deriveSeed(seed: number, index: number): number {
  return mix32(mix32(seed >>> 0) ^ Math.imul(index + 1, 0x27d4eb2f));
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    this.s0 = mix32(x);
    x = (x + 0x632be5ab) | 0;
    this.s1 = mix32(x);
    x = (x + 0x632be5ab) | 0;
    this.s2 = mix32(x);
    x = (x + 0x632be5ab) | 0;
    this.s3 = mix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform unsigned 32-bit integer. */
  uint32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
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

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
