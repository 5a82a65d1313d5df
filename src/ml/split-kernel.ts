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
  "AGFzbQEAAAABIQRgA39/fwF/YAd/f39/fHx8AX9gBH9/f38Bf2ACf38BfwLPAhMDZW52Bm1lbW9yeQIAAQZsYXlvdXQDaWR4A38ABmxheW91dAZiaW5uZWQDfwAGbGF5b3V0BG11bHQDfwAGbGF5b3V0CmxhYmVsU3RhcnQDfwAGbGF5b3V0CmxhYmVsSW5kZXgDfwAGbGF5b3V0CHJvd1RvdGFsA38ABmxheW91dARwb3NMA38ABmxheW91dAlub2RlVG90YWwDfwAGbGF5b3V0CXNvcnRlZElkeAN/AAZsYXlvdXQJc29ydGVkQmluA38ABmxheW91dAZidWNrZXQDfwAGbGF5b3V0BWhpc3RDA38ABmxheW91dAhiaW5TdGFydAN/AAZsYXlvdXQDdG1wA38ABmxheW91dAlmaWxsVG90YWwDfwAGbGF5b3V0CWZpbGxMYWJlbAN/AAZsYXlvdXQHZmlsbFN1bQN/AAZsYXlvdXQDb3V0A38AAwUEAAECAwciBARzb3J0AAAEc2NhbgABCXBhcnRpdGlvbgACBGZpbGwAAwriDQS2BAESfyABIABrIQMjACAAQQJ0aiENIwohDiMJIQ8jCCEQIwEgAmohESMLIRIjDCETQf8BIQZBACEHQQAhBAJAA0AgBCADTg0BIBEgDSAEQQJ0aigCAGotAAAhBSAOIARqIAU6AAAgBSAGSQRAIAUhBgsgBSAHSwRAIAUhBwsgBEEBaiEEDAALCyAGIAdGBEBBAA8LIAMgA2wgA0EDbCAHIAZrQQFqakECdEwEQEEAIQQCQANAIAQgA04NASAOIARqLQAAIQUgDSAEQQJ0aigCACEJIARBAWshCAJAA0AgCEEASA0BIA8gCGotAAAhFCAUIAVNDQEgDyAIQQFqaiAUOgAAIBAgCEEBakECdGogECAIQQJ0aigCADYCACAIQQFrIQgMAAsLIA8gCEEBamogBToAACAQIAhBAWpBAnRqIAk2AgAgBEEBaiEEDAALC0EBDwtBACEEAkADQCAEIANODQEgEiAOIARqLQAAQQJ0aiELIAsgCygCAEEBajYCACAEQQFqIQQMAAsLQQAhCiAGIQUCQANAIAUgB0sNASASIAVBAnRqKAIAIQsgEiAFQQJ0akEANgIAIBMgBUECdGogCjYCACAKIAtqIQogBUEBaiEFDAALC0EAIQQCQANAIAQgA04NASAOIARqLQAAIQUgEyAFQQJ0aiELIAsoAgAhDCALIAxBAWo2AgAgECAMQQJ0aiANIARBAnRqKAIANgIAIA8gDGogBToAACAEQQFqIQQMAAsLQQEL7QUDCX8JfAh/IwghGSMJIRojAiEbIwMhHCMEIR0jBSEeIwYhHyMHISAgACABayEIQX8hDyAaLQAAIQ1BACEHAkADQCAHIAhODQEgGSAHQQJ0aigCACEJIBsgCUEDdGorAwAhECARIBCgIREgHCAJQQJ0aiEMIAwoAgAhCiAMKAIEIQsgEiAQIBAgCyAKa7eioqAhEkQAAAAAAAAAACEVIAIEQEQAAAAAAAAAACEWAkADQCAKIAtODQEgHSAKQQF0ai8BAEEDdCEMIBYgICAMaisDAKAhFiAfIAxqIQwgDCsDACEUIBUgFKAhFSAMIBQgEKA5AwAgCkEBaiEKDAALCyAeIAlBA3RqIBY5AwAFAkADQCAKIAtODQEgHyAdIApBAXRqLwEAQQN0aiEMIAwrAwAhFCAVIBSgIRUgDCAUIBCgOQMAIApBAWohCgwACwsgHiAJQQN0aisDACEWCyASIBBEAAAAAAAAAECiIBWioCESIBMgECAWoqAhEyAHQQFqIQcgGiAHai0AACEOIA4gDUcEQCAHIAFOBEAgESAEIBGhoiEXIAQgEqIgESAFRAAAAAAAAABAIBOioaKgIRggGCAGIBeiZARAIBggF6MhBiANIA5qQQFrQQF2IQ8LCyAOIQ0LDAALC0EAIAggAxshBwJAA0AgByAITg0BIBwgGSAHQQJ0aigCAEECdGohDCAMKAIAIQogDCgCBCELAkADQCAKIAtODQEgHyAdIApBAXRqLwEAQQN0akQAAAAAAAAAADkDACAKQQFqIQoMAAsLIAdBAWohBwwACwsgAgRAIAghBwJAA0AgByAATg0BIBkgB0ECdGooAgAhCSAcIAlBAnRqIQwgDCgCACEKIAwoAgQhC0QAAAAAAAAAACEWAkADQCAKIAtODQEgFiAgIB0gCkEBdGovAQBBA3RqKwMAoCEWIApBAWohCgwACwsgHiAJQQN0aiAWOQMAIAdBAWohBwwACwsLIxEgBjkDACAPC4oBAQd/IwAhCCMNIQkjASACaiEKIAAhBCAAIQUCQANAIAQgAU4NASAIIARBAnRqKAIAIQcgCiAHai0AACADTQRAIAggBUECdGogBzYCACAFQQFqIQUFIAkgBkECdGogBzYCACAGQQFqIQYLIARBAWohBAwACwsgCCAFQQJ0aiAJIAZBAnT8CgAAIAULrAIDB38DfAd/IwAhDCMCIQ0jAyEOIwQhDyMOIRAjDyERIxAhEiAAIQICQANAIAIgAU4NASAMIAJBAnRqKAIAIQMgDSADQQN0aisDACEJIAsgCaAhCyAOIANBAnRqIQYgBigCACEEIAYoAgQhBQJAA0AgBCAFTg0BIA8gBEEBdGovAQAhByAQIAdBA3RqIQYgBisDACEKIApEAAAAAAAAAABhBEAgESAIQQJ0aiAHNgIAIAhBAWohCAsgBiAKIAmgOQMAIARBAWohBAwACwsgAkEBaiECDAALC0EAIQICQANAIAIgCE4NASAQIBEgAkECdGooAgBBA3RqIQYgEiACQQN0aiAGKwMAOQMAIAZEAAAAAAAAAAA5AwAgAkEBaiECDAALCyMRIAs5AwggCAs=";

/**
 * The kernel's buffers in its memory, in this order, each starting on an 8-byte boundary: name
 * and element type. split-kernel.wat imports each one's byte offset as the global
 * `layout.<name>`; split-kernel.test.ts checks that it imports exactly these.
 */
export const KERNEL_BUFFERS = {
  /** Per row: the node's rows, node by node. */
  idx: Int32Array,
  /** Per row and feature, column-major: binned[col + i]. */
  binned: Uint8Array,
  /** Per row: times drawn. */
  mult: Float64Array,
  /** Per row + 1: where the row's positive labels start in labelIndex. */
  labelStart: Int32Array,
  /** Per positive label of a row. */
  labelIndex: Uint16Array,
  /** Per row: Σ node total over its labels. */
  rowTotal: Float64Array,
  /** Per label: positives left of the boundary. */
  posL: Float64Array,
  /** Per label: the node's positives. */
  nodeTotal: Float64Array,
  /** Per row of a small node: its rows sorted by bin. */
  sortedIdx: Int32Array,
  /** Per row of a small node: their bins, sorted. */
  sortedBin: Uint8Array,
  /** Per row of a small node: its bin before sorting. */
  bucket: Uint8Array,
  /** 256 counts, all 0 between calls. */
  histC: Int32Array,
  /** 256 starts of the bins in the counting sort. */
  binStart: Int32Array,
  /** Per row: the rows partition moves right. */
  tmp: Int32Array,
  /** Per label, all 0 between calls. */
  fillTotal: Float64Array,
  /** Per label: `fill`'s labels. */
  fillLabel: Int32Array,
  /** Per label: `fill`'s totals. */
  fillSum: Float64Array,
  /** 2 results: the best gain of `scan`, the weight of `fill`. */
  out: Float64Array,
} as const;

export type KernelBuffer = keyof typeof KERNEL_BUFFERS;

/** A view of each buffer in the kernel's memory, of its element type. */
export type KernelViews = {
  readonly [K in KernelBuffer]: InstanceType<(typeof KERNEL_BUFFERS)[K]>;
};

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

/**
 * The kernel on a new memory holding each buffer with the given number of elements, laid out
 * as KERNEL_BUFFERS says, and a view of each; compiled once per thread.
 */
export function splitKernel(lengths: Readonly<Record<KernelBuffer, number>>): {
  kernel: SplitKernel;
  views: KernelViews;
} {
  const names = Object.keys(KERNEL_BUFFERS) as KernelBuffer[];
  const offsets = {} as Record<KernelBuffer, number>;
  let bytes = 0;
  for (const name of names) {
    offsets[name] = bytes;
    bytes += Math.ceil((lengths[name] * KERNEL_BUFFERS[name].BYTES_PER_ELEMENT) / 8) * 8;
  }
  compiled ??= new WebAssembly.Module(Buffer.from(KERNEL, "base64"));
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const instance = new WebAssembly.Instance(compiled, { env: { memory }, layout: offsets });
  const views = {} as Record<KernelBuffer, unknown>;
  for (const name of names) {
    views[name] = new KERNEL_BUFFERS[name](memory.buffer, offsets[name], lengths[name]);
  }
  return { kernel: instance.exports as SplitKernel, views: views as KernelViews };
}
