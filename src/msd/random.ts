// The synthetic MSD's draws (uniform, normal by ziggurat, exponential, picks and samples) on the
// project's seeded generator (common/xoshiro.ts): the same seed gives the same numbers on every
// platform, and independent streams (one per artist, one per track) come from hashing the seed
// with a stream id.
import { fmix32, Xoshiro128 } from "../common/xoshiro.ts";

/** Mixes a seed with a stream name and indices into an independent 32-bit seed. */
export function deriveSeed(seed: number, stream: string, ...indices: number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (let i = 0; i < stream.length; i++) h = fmix32(h ^ stream.charCodeAt(i)) + i;
  for (const index of indices) {
    h = fmix32((h ^ (index >>> 0)) + Math.floor(index / 2 ** 32));
  }
  return h >>> 0;
}

export class Random extends Xoshiro128 {
  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Normal deviate by Marsaglia and Tsang's ziggurat (128 layers): one 32-bit draw most times. */
  normal(mean = 0, sd = 1): number {
    let hz = this.uint32() | 0;
    let iz = hz & 127;
    if (Math.abs(hz) < (ZIGGURAT_K[iz] as number))
      return mean + sd * hz * (ZIGGURAT_W[iz] as number);
    for (;;) {
      const x = hz * (ZIGGURAT_W[iz] as number);
      if (iz === 0) {
        let tail: number;
        let y: number;
        do {
          tail = -Math.log(1 - this.next()) / ZIGGURAT_R;
          y = -Math.log(1 - this.next());
        } while (y + y < tail * tail);
        return mean + sd * (hz > 0 ? ZIGGURAT_R + tail : -ZIGGURAT_R - tail);
      }
      const f = ZIGGURAT_F[iz] as number;
      if (f + this.next() * ((ZIGGURAT_F[iz - 1] as number) - f) < Math.exp(-0.5 * x * x)) {
        return mean + sd * x;
      }
      hz = this.uint32() | 0;
      iz = hz & 127;
      if (Math.abs(hz) < (ZIGGURAT_K[iz] as number))
        return mean + sd * hz * (ZIGGURAT_W[iz] as number);
    }
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("cannot pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  /** An index drawn with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** `count` distinct items in random order (all of them when there are fewer). */
  sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const n = Math.min(count, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
    }
    return pool.slice(0, n);
  }
}

const ZIGGURAT_R = 3.442619855899;
const ZIGGURAT_K = new Float64Array(128);
const ZIGGURAT_W = new Float64Array(128);
const ZIGGURAT_F = new Float64Array(128);
{
  const m1 = 2147483648;
  const area = 9.91256303526217e-3;
  let d = ZIGGURAT_R;
  let t = d;
  const q = area / Math.exp(-0.5 * d * d);
  ZIGGURAT_K[0] = (d / q) * m1;
  ZIGGURAT_K[1] = 0;
  ZIGGURAT_W[0] = q / m1;
  ZIGGURAT_W[127] = d / m1;
  ZIGGURAT_F[0] = 1;
  ZIGGURAT_F[127] = Math.exp(-0.5 * d * d);
  for (let i = 126; i >= 1; i--) {
    d = Math.sqrt(-2 * Math.log(area / d + Math.exp(-0.5 * d * d)));
    ZIGGURAT_K[i + 1] = (d / t) * m1;
    t = d;
    ZIGGURAT_F[i] = Math.exp(-0.5 * d * d);
    ZIGGURAT_W[i] = d / m1;
  }
}
