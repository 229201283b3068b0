// What bench:device and bench:instructions share: the reference every model is measured against, a plain int8
// dot-product loop (64 outputs of 256 MACs) as each engine family writes it, and their option parsing.

/** MACs of one run of the reference loop. */
export const LOOP_MACS = 256 * 64;

/** ES5: defines `__loop()`, one run of the loop over typed arrays (its own arguments, as a kernel's are locals). */
export const JS_REFERENCE_LOOP = `
var __a = new Int8Array(256), __w = new Int8Array(256 * 64), __acc = new Int32Array(64);
for (var __j = 0; __j < __w.length; __j++) __w[__j] = (__j * 13) % 255 - 127;
function __dot(a, w, acc) {
  for (var o = 0; o < 64; o++) { var s = 0, wb = o * 256; for (var k = 0; k < 256; k++) s += a[k] * w[wb + k]; acc[o] = s; }
}
function __loop() { __dot(__a, __w, __acc); }
`;

/** Lua: defines the local `loop()`, the same loop over tables indexed from 0. */
export const LUA_REFERENCE_LOOP = `
local a, w, acc = {}, {}, {}
for i = 0, 255 do a[i] = 0 end
for i = 0, 256 * 64 - 1 do w[i] = (i * 13) % 255 - 127 end
local function loop()
  for o = 0, 63 do
    local s, wb = 0, o * 256
    for k = 0, 255 do s = s + a[k] * w[wb + k] end
    acc[o] = s
  end
end
`;

/** The values of a repeatable `--flag value` option, or all of `all` when it is not given. */
export function choose<T extends string>(flag: string, all: readonly T[]): T[] {
  const picked = process.argv.flatMap((a, i) =>
    a === flag && i + 1 < process.argv.length ? [process.argv[i + 1]] : [],
  );
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`${flag} ${p}: expected one of ${all.join(', ')}`);
  return picked.length ? (picked as T[]) : [...all];
}
