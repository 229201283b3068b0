// What each build fixes at build time and what an engine may offer natively: true globals, not imported
// (tools/build-device.ts defines the constants; the natives are looked up at load, platform/js.ts).

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

/**
 * Fixed by the build: true in the Espruino variant (dist/device/morsel.espruino.js, `morsel bundle --target
 * espruino`), false in the ES5 bundle for the other engines and in Lua. Espruino alone starts typed-array views
 * below 64 KB only, offers E.convolve and has getTime (platform/js.ts, kernels/dense.ts).
 */
declare const ESPRUINO: boolean;

/** Espruino: Σ_i arr1[i]·arr2[(i + offset) mod arr2.length] over all of arr1, computed in C. */
declare const E: { convolve(this: void, arr1: any, arr2: any, offset: number): number };
/** Optional firmware native (device/README.md): Σ_{i<n} a[aOff + i]·b[bOff + i] over two Int8Arrays. */
declare function dot_s8(a: import('./api').Buf, aOff: number, b: import('./api').Buf, bOff: number, n: number): number;
