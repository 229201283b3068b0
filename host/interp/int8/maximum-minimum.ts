/** TFLite's int8 MAXIMUM / MINIMUM (inputs on the output's quantization); `ia`/`ib` map output elements to inputs. */
export function maximumMinimum(
  a: Int8Array,
  ia: Int32Array,
  b: Int8Array,
  ib: Int32Array,
  y: Int8Array,
  max: boolean,
): void {
  for (let i = 0; i < y.length; i++) y[i] = max ? Math.max(a[ia[i]], b[ib[i]]) : Math.min(a[ia[i]], b[ib[i]]);
}
