// What the shared device code needs from its target, implemented twice: platform/js.ts (ES5 engines, typed
// arrays, zero copy) and platform/lua.lua (Lua 5.1/5.3/LuaJIT, tables). Kernels and the reader only index
// Bufs and call these functions, so one source tree compiles to both.

/**
 * 0-based numeric storage: a typed array in JavaScript, a table keyed from 0 in Lua. Only indexed, never
 * asked its length (Lua's # does not count key 0). typescript-to-lua leaves the index of a non-array as is.
 */
interface Buf {
  [i: number]: number;
}

/** Zero-filled int8 storage of n values (the arena). */
declare function newInt8(n: number): Buf;
/** Zero-filled int32 storage of n values. */
declare function newInt32(n: number): Buf;
/** Zero-filled storage of n doubles (load-time constants). */
declare function newFloat64(n: number): Buf;
/** The caller's blob as int8 values (JS: an Int8Array on the same memory; Lua: one table made from the string). */
declare function blobInt8(blob: any): Buf;
/**
 * An int32 v as the engine's small integer (JS: read back from an Int32Array; Lua: v itself). V8 keeps a number
 * computed in double arithmetic (the reader's u32 reads) as a heap double, and an object field that ever held
 * one stays double: every index a kernel computes from it then converts. The runtime stores integers through this.
 */
declare function int32(v: number): number;
/** Number of bytes in the caller's blob. */
declare function blobLength(blob: any): number;
/** count little-endian int32 values at byte pos of an int8 blob (JS: a view when aligned; Lua: a table). */
declare function int32Span(blob: Buf, pos: number, count: number): Buf;
/**
 * Consecutive views of rowLength int8 values from offset, up to `rows` of them: the arrays E.convolve takes (JS
 * only). Fewer when the engine cannot start a view that far into a buffer (Espruino: 64 KB); none in Lua.
 */
declare function rowViews(data: Buf, offset: number, rowLength: number, rows: number): any[];
/** The value invoke() returns for the output tensor (JS: an Int8Array view on the arena; Lua: a 1-based table). */
declare function outputHandle(arena: Buf, offset: number, n: number): any;
/** Makes the output handle current after an inference (JS: nothing to do when it is a view; Lua: copies n values). */
declare function publishOutput(arena: Buf, offset: number, n: number, handle: any): void;
/** Number of values in a caller's input (JS: array-like; Lua: a string of bytes or a 1-based table). */
declare function inputLength(input: any): number;
/** Copies a caller's input into the arena as int8 values. */
declare function copyInput(input: any, arena: Buf, offset: number, n: number): void;
/** Milliseconds from an arbitrary origin, fractions allowed. */
declare function clockMs(): number;
/** The native dot product this engine offers: DOT_NONE, DOT_CONVOLVE (Espruino) or DOT_S8 (firmware binding). */
declare function nativeDotKind(): number;
/**
 * True on a tracing JIT (LuaJIT). There a data-dependent branch in a hot loop costs a side exit, while
 * Math.min/Math.max compile to one instruction, so kernels clamp and select through them; in an interpreter they
 * are calls, dearer than the branch. The ES5 build defines it false (V8 compiles branches as branches), which
 * drops the min/max code from the bundle.
 */
declare const TRACING_JIT: boolean;
/**
 * Fixed by the build: true in Lua, whose floor is a fast builtin (LuaJIT) or returns an integer (5.3; doubles in
 * the arena would slow every later op), false in ES5, whose interpreters pay a call for Math.floor: requantization
 * then rounds with two additions instead (fixedpoint.ts).
 */
declare const ROUND_BY_FLOOR: boolean;
/** Throws an error whose message is `message` (JS: an Error; Lua: error(message, 0)). */
declare function raise(message: string): never;

/** Espruino: Σ_i arr1[i]·arr2[(i + offset) mod arr2.length] over all of arr1, computed in C. */
declare const E: { convolve(this: void, arr1: any, arr2: any, offset: number): number };
/** Optional firmware native (device/README.md): Σ_{i<n} a[aOff + i]·b[bOff + i] over two Int8Arrays. */
declare function dot_s8(a: Buf, aOff: number, b: Buf, bOff: number, n: number): number;
