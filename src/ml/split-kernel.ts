// The inner loops of tree.ts in WebAssembly (split-kernel.wat beside this file): sorting a node's
// rows by bin, scanning the boundaries for the best unweighted split, partitioning the rows and
// summing a child's positives per label. Compiled
// JavaScript reloads each typed array's map, length and data pointer on every loop turn, some 27
// instructions per label visited, and runs unoptimised until V8 has compiled it, for the first
// few hundred milliseconds of each thread; the WebAssembly loops are compiled at once, straight.
//
// After editing split-kernel.wat, regenerate KERNEL below with
//   npx -y -p wabt@1.0.39 wat2wasm src/ml/split-kernel.wat --output=- | base64 -w0

/** split-kernel.wat assembled, base64. */
const KERNEL =
  "AGFzbQEAAAABNQVgEn9/f39/f39/f39/f39/f39/fwBgA39/fwF/YAZ/f398fHwBf2AEf39/fwF/YAJ/fwF/Ag8BA2VudgZtZW1vcnkCAAEDBgUAAQIDBAZbEn8BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEAC38BQQALfwFBAAt/AUEACwcrBQZsYXlvdXQAAARzb3J0AAEEc2NhbgACCXBhcnRpdGlvbgADBGZpbGwABAq2DQVKACAAJAAgASQBIAIkAiADJAMgBCQEIAUkBSAGJAYgByQHIAgkCCAJJAkgCiQKIAskCyAMJAwgDSQNIA4kDiAPJA8gECQQIBEkEQu2BAESfyABIABrIQMjACAAQQJ0aiENIwohDiMJIQ8jCCEQIwEgAmohESMLIRIjDCETQf8BIQZBACEHQQAhBAJAA0AgBCADTg0BIBEgDSAEQQJ0aigCAGotAAAhBSAOIARqIAU6AAAgBSAGSQRAIAUhBgsgBSAHSwRAIAUhBwsgBEEBaiEEDAALCyAGIAdGBEBBAA8LIAMgA2wgA0EDbCAHIAZrQQFqakECdEwEQEEAIQQCQANAIAQgA04NASAOIARqLQAAIQUgDSAEQQJ0aigCACEJIARBAWshCAJAA0AgCEEASA0BIA8gCGotAAAhFCAUIAVNDQEgDyAIQQFqaiAUOgAAIBAgCEEBakECdGogECAIQQJ0aigCADYCACAIQQFrIQgMAAsLIA8gCEEBamogBToAACAQIAhBAWpBAnRqIAk2AgAgBEEBaiEEDAALC0EBDwtBACEEAkADQCAEIANODQEgEiAOIARqLQAAQQJ0aiELIAsgCygCAEEBajYCACAEQQFqIQQMAAsLQQAhCiAGIQUCQANAIAUgB0sNASASIAVBAnRqKAIAIQsgEiAFQQJ0akEANgIAIBMgBUECdGogCjYCACAKIAtqIQogBUEBaiEFDAALC0EAIQQCQANAIAQgA04NASAOIARqLQAAIQUgEyAFQQJ0aiELIAsoAgAhDCALIAxBAWo2AgAgECAMQQJ0aiANIARBAnRqKAIANgIAIA8gDGogBToAACAEQQFqIQQMAAsLQQEL9gQDCX8JfAh/IwghGCMJIRkjAiEaIwMhGyMEIRwjBSEdIwYhHiMHIR8gACABayEHQX8hDiAZLQAAIQxBACEGAkADQCAGIAdODQEgGCAGQQJ0aigCACEIIBogCEEDdGorAwAhDyAQIA+gIRAgGyAIQQJ0aiELIAsoAgAhCSALKAIEIQogESAPIA8gCiAJa7eioqAhEUQAAAAAAAAAACEUIAIEQEQAAAAAAAAAACEVAkADQCAJIApODQEgHCAJQQF0ai8BAEEDdCELIBUgHyALaisDAKAhFSAeIAtqIQsgCysDACETIBQgE6AhFCALIBMgD6A5AwAgCUEBaiEJDAALCyAdIAhBA3RqIBU5AwAFAkADQCAJIApODQEgHiAcIAlBAXRqLwEAQQN0aiELIAsrAwAhEyAUIBOgIRQgCyATIA+gOQMAIAlBAWohCQwACwsgHSAIQQN0aisDACEVCyARIA9EAAAAAAAAAECiIBSioCERIBIgDyAVoqAhEiAGQQFqIQYgGSAGai0AACENIA0gDEcEQCAGIAFOBEAgECADIBChoiEWIAMgEaIgECAERAAAAAAAAABAIBKioaKgIRcgFyAFIBaiZARAIBcgFqMhBSAMIA1qQQFrQQF2IQ4LCyANIQwLDAALCyACBEACQANAIAYgAE4NASAYIAZBAnRqKAIAIQggGyAIQQJ0aiELIAsoAgAhCSALKAIEIQpEAAAAAAAAAAAhFQJAA0AgCSAKTg0BIBUgHyAcIAlBAXRqLwEAQQN0aisDAKAhFSAJQQFqIQkMAAsLIB0gCEEDdGogFTkDACAGQQFqIQYMAAsLCyMRIAU5AwAgDguKAQEHfyMAIQgjDSEJIwEgAmohCiAAIQQgACEFAkADQCAEIAFODQEgCCAEQQJ0aigCACEHIAogB2otAAAgA00EQCAIIAVBAnRqIAc2AgAgBUEBaiEFBSAJIAZBAnRqIAc2AgAgBkEBaiEGCyAEQQFqIQQMAAsLIAggBUECdGogCSAGQQJ0/AoAACAFC6wCAwd/A3wHfyMAIQwjAiENIwMhDiMEIQ8jDiEQIw8hESMQIRIgACECAkADQCACIAFODQEgDCACQQJ0aigCACEDIA0gA0EDdGorAwAhCSALIAmgIQsgDiADQQJ0aiEGIAYoAgAhBCAGKAIEIQUCQANAIAQgBU4NASAPIARBAXRqLwEAIQcgECAHQQN0aiEGIAYrAwAhCiAKRAAAAAAAAAAAYQRAIBEgCEECdGogBzYCACAIQQFqIQgLIAYgCiAJoDkDACAEQQFqIQQMAAsLIAJBAWohAgwACwtBACECAkADQCACIAhODQEgECARIAJBAnRqKAIAQQN0aiEGIBIgAkEDdGogBisDADkDACAGRAAAAAAAAAAAOQMAIAJBAWohAgwACwsjESALOQMIIAgL";

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
  /** Best boundary of the sorted rows beating gain `best`: its bin, or -1; its gain in out[0]. */
  scan(
    nD: number,
    minSamplesLeaf: number,
    first: number,
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
