// The inner loops of tree.ts in WebAssembly (split-kernel.wat beside this file): sorting a node's
// rows by bin, scanning the boundaries for the best unweighted split, partitioning the rows and
// summing a child's positives per label. Compiled
// JavaScript reloads each typed array's map, length and data pointer on every loop turn, some 27
// instructions per label visited, and runs unoptimised until V8 has compiled it, for the first
// few hundred milliseconds of each thread; the WebAssembly loops are compiled at once, straight.
//
// After editing split-kernel.wat, regenerate KERNEL below with `npm run build:kernel`
// (scripts/build-kernel.ts, which assembles it with the pinned wabt devDependency);
// test/ml/split-kernel.test.ts fails while KERNEL differs from the assembled .wat.

/** split-kernel.wat assembled, base64. */
export const KERNEL =
  "AGFzbQEAAAABNgVgEn9/f39/f39/f39/f39/f39/fwBgA39/fwF/YAd/f39/fHx8AX9gBH9/f38Bf2ACf38BfwIPAQNlbnYGbWVtb3J5AgABAwYFAAECAwQGWxJ/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAsHKwUGbGF5b3V0AAAEc29ydAABBHNjYW4AAglwYXJ0aXRpb24AAwRmaWxsAAQKrQ4FSgAgACQAIAEkASACJAIgAyQDIAQkBCAFJAUgBiQGIAckByAIJAggCSQJIAokCiALJAsgDCQMIA0kDSAOJA4gDyQPIBAkECARJBELtgQBEn8gASAAayEDIwAgAEECdGohDSMKIQ4jCSEPIwghECMBIAJqIREjCyESIwwhE0H/ASEGQQAhB0EAIQQCQANAIAQgA04NASARIA0gBEECdGooAgBqLQAAIQUgDiAEaiAFOgAAIAUgBkkEQCAFIQYLIAUgB0sEQCAFIQcLIARBAWohBAwACwsgBiAHRgRAQQAPCyADIANsIANBA2wgByAGa0EBampBAnRMBEBBACEEAkADQCAEIANODQEgDiAEai0AACEFIA0gBEECdGooAgAhCSAEQQFrIQgCQANAIAhBAEgNASAPIAhqLQAAIRQgFCAFTQ0BIA8gCEEBamogFDoAACAQIAhBAWpBAnRqIBAgCEECdGooAgA2AgAgCEEBayEIDAALCyAPIAhBAWpqIAU6AAAgECAIQQFqQQJ0aiAJNgIAIARBAWohBAwACwtBAQ8LQQAhBAJAA0AgBCADTg0BIBIgDiAEai0AAEECdGohCyALIAsoAgBBAWo2AgAgBEEBaiEEDAALC0EAIQogBiEFAkADQCAFIAdLDQEgEiAFQQJ0aigCACELIBIgBUECdGpBADYCACATIAVBAnRqIAo2AgAgCiALaiEKIAVBAWohBQwACwtBACEEAkADQCAEIANODQEgDiAEai0AACEFIBMgBUECdGohCyALKAIAIQwgCyAMQQFqNgIAIBAgDEECdGogDSAEQQJ0aigCADYCACAPIAxqIAU6AAAgBEEBaiEEDAALC0EBC+0FAwl/CXwIfyMIIRkjCSEaIwIhGyMDIRwjBCEdIwUhHiMGIR8jByEgIAAgAWshCEF/IQ8gGi0AACENQQAhBwJAA0AgByAITg0BIBkgB0ECdGooAgAhCSAbIAlBA3RqKwMAIRAgESAQoCERIBwgCUECdGohDCAMKAIAIQogDCgCBCELIBIgECAQIAsgCmu3oqKgIRJEAAAAAAAAAAAhFSACBEBEAAAAAAAAAAAhFgJAA0AgCiALTg0BIB0gCkEBdGovAQBBA3QhDCAWICAgDGorAwCgIRYgHyAMaiEMIAwrAwAhFCAVIBSgIRUgDCAUIBCgOQMAIApBAWohCgwACwsgHiAJQQN0aiAWOQMABQJAA0AgCiALTg0BIB8gHSAKQQF0ai8BAEEDdGohDCAMKwMAIRQgFSAUoCEVIAwgFCAQoDkDACAKQQFqIQoMAAsLIB4gCUEDdGorAwAhFgsgEiAQRAAAAAAAAABAoiAVoqAhEiATIBAgFqKgIRMgB0EBaiEHIBogB2otAAAhDiAOIA1HBEAgByABTgRAIBEgBCARoaIhFyAEIBKiIBEgBUQAAAAAAAAAQCAToqGioCEYIBggBiAXomQEQCAYIBejIQYgDSAOakEBa0EBdiEPCwsgDiENCwwACwtBACAIIAMbIQcCQANAIAcgCE4NASAcIBkgB0ECdGooAgBBAnRqIQwgDCgCACEKIAwoAgQhCwJAA0AgCiALTg0BIB8gHSAKQQF0ai8BAEEDdGpEAAAAAAAAAAA5AwAgCkEBaiEKDAALCyAHQQFqIQcMAAsLIAIEQCAIIQcCQANAIAcgAE4NASAZIAdBAnRqKAIAIQkgHCAJQQJ0aiEMIAwoAgAhCiAMKAIEIQtEAAAAAAAAAAAhFgJAA0AgCiALTg0BIBYgICAdIApBAXRqLwEAQQN0aisDAKAhFiAKQQFqIQoMAAsLIB4gCUEDdGogFjkDACAHQQFqIQcMAAsLCyMRIAY5AwAgDwuKAQEHfyMAIQgjDSEJIwEgAmohCiAAIQQgACEFAkADQCAEIAFODQEgCCAEQQJ0aigCACEHIAogB2otAAAgA00EQCAIIAVBAnRqIAc2AgAgBUEBaiEFBSAJIAZBAnRqIAc2AgAgBkEBaiEGCyAEQQFqIQQMAAsLIAggBUECdGogCSAGQQJ0/AoAACAFC6wCAwd/A3wHfyMAIQwjAiENIwMhDiMEIQ8jDiEQIw8hESMQIRIgACECAkADQCACIAFODQEgDCACQQJ0aigCACEDIA0gA0EDdGorAwAhCSALIAmgIQsgDiADQQJ0aiEGIAYoAgAhBCAGKAIEIQUCQANAIAQgBU4NASAPIARBAXRqLwEAIQcgECAHQQN0aiEGIAYrAwAhCiAKRAAAAAAAAAAAYQRAIBEgCEECdGogBzYCACAIQQFqIQgLIAYgCiAJoDkDACAEQQFqIQQMAAsLIAJBAWohAgwACwtBACECAkADQCACIAhODQEgECARIAJBAnRqKAIAQQN0aiEGIBIgAkEDdGogBisDADkDACAGRAAAAAAAAAAAOQMAIAJBAWohAgwACwsjESALOQMIIAgL";

interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

// The parts of the WebAssembly API used here (the project's TypeScript libraries leave it out).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
};

export interface SplitKernel {
  /** Byte offsets of the workspace's buffers in the kernel's memory (see TreeWorkspace). */
  layout(
    idx: number,
    binned: number,
    mult: number,
    labelStart: number,
    labelIndex: number,
    rowTotal: number,
    posL: number,
    nodeTotal: number,
    sortedIdx: number,
    sortedBin: number,
    bucket: number,
    histC: number,
    binStart: number,
    tmp: number,
    fillTotal: number,
    fillLabel: number,
    fillSum: number,
    out: number,
  ): void;
  /** Sorts rows idx[start…end) by their bin at `binned[col + row]`; 0 when they share one bin. */
  sort(start: number, end: number, col: number): number;
  /**
   * Best boundary of the sorted rows beating gain `best`: its bin, or -1; its gain in out[0].
   * `posL` must be all 0; with `clear` it is left so, else the caller clears its labels.
   */
  scan(
    nD: number,
    minSamplesLeaf: number,
    first: number,
    clear: number,
    nW: number,
    t2: number,
    best: number,
  ): number;
  /** Stable partition of rows idx[start…end) by bin ≤ b at `binned[col + row]`; the split. */
  partition(start: number, end: number, col: number, b: number): number;
  /** Positives per label of rows idx[start…end) into fillLabel/fillSum, weight in out[1]. */
  fill(start: number, end: number): number;
}

let compiled: object | undefined;

/** The kernel on a new memory of `bytes` bytes (at least), compiled once per thread. */
export function splitKernel(bytes: number): { kernel: SplitKernel; buffer: ArrayBuffer } {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNEL, "base64"));
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const instance = new WebAssembly.Instance(compiled, { env: { memory } });
  return { kernel: instance.exports as SplitKernel, buffer: memory.buffer };
}
