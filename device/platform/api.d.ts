// What the shared device code needs from its target, implemented twice: platform/js.ts (ES5 engines, typed
// arrays, zero copy) and platform/lua.lua (Lua 5.1/5.3/LuaJIT, tables). Kernels and the reader import these from
// './platform/api' and only index Bufs and call them, so one source tree compiles to both: the ES5 build resolves
// this module to platform/js.ts (which the build checks implements it), the Lua build flattens the modules and
// platform/lua.lua defines these names (tools/build-device.ts).

/**
 * 0-based numeric storage: a typed array in JavaScript, a table keyed from 0 in Lua. Only indexed, never
 * asked its length (Lua's # does not count key 0). typescript-to-lua leaves the index of a non-array as is.
 */
export interface Buf {
  [i: number]: number;
}

/** Zero-filled int8 storage of n values (the arena). */
export function newInt8(n: number): Buf;
/** Zero-filled int32 storage of n values. */
export function newInt32(n: number): Buf;
/** Zero-filled storage of n doubles (load-time constants). */
export function newFloat64(n: number): Buf;
/** The caller's blob as int8 values (JS: an Int8Array on the same memory; Lua: one table made from the string). */
export function blobInt8(blob: any): Buf;
/**
 * An int32 v as the engine's small integer (JS: read back from an Int32Array; Lua: v itself). V8 keeps a number
 * computed in double arithmetic (the reader's u32 reads) as a heap double, and an object field that ever held
 * one stays double: every index a kernel computes from it then converts. The runtime stores integers through this.
 */
export function int32(v: number): number;
/** Number of bytes in the caller's blob. */
export function blobLength(blob: any): number;
/** count little-endian int32 values at byte pos of an int8 blob (JS: a view when aligned; Lua: a table). */
export function int32Span(blob: Buf, pos: number, count: number): Buf;
/**
 * Consecutive views of rowLength int8 values from offset, up to `rows` of them: the arrays E.convolve takes (JS
 * only). Fewer when the engine cannot start a view that far into a buffer (Espruino: 64 KB); none in Lua.
 */
export function rowViews(data: Buf, offset: number, rowLength: number, rows: number): any[];
/** The value invoke() returns for the output tensor (JS: an Int8Array view on the arena; Lua: a 1-based table). */
export function outputHandle(arena: Buf, offset: number, n: number): any;
/** Makes the output handle current after an inference (JS: nothing to do when it is a view; Lua: copies n values). */
export function publishOutput(arena: Buf, offset: number, n: number, handle: any): void;
/** Number of values in a caller's input (JS: array-like; Lua: a string of bytes or a 1-based table). */
export function inputLength(input: any): number;
/** Copies a caller's input into the arena as int8 values. */
export function copyInput(input: any, arena: Buf, offset: number, n: number): void;
/** Milliseconds from an arbitrary origin, fractions allowed. */
export function clockMs(): number;
/** The native dot product this engine offers: DOT_NONE, DOT_CONVOLVE (Espruino) or DOT_S8 (firmware binding). */
export function nativeDotKind(): number;
/** Throws an error whose message is `message` (JS: an Error; Lua: error(message, 0)). */
export function raise(message: string): never;
/** Math.floor bound once (JS: `const floor = Math.floor`; Lua: math.floor, a local): kernels floor per output. */
export const floor: (x: number) => number;
