import { numel } from '../../ir/shape';
/**
 * CONCATENATION along `axis`: every input shares the output's quantization, so bytes are copied. Each input
 * contributes a run of (its size along axis)·(inner size) bytes per outer index.
 */
export function concatenation(xs: Int8Array[], shapes: number[][], axis: number, y: Int8Array): void {
  const inner = numel(shapes[0].slice(axis + 1));
  const outer = numel(shapes[0].slice(0, axis));
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < xs.length; k++) {
      const run = shapes[k][axis] * inner;
      y.set(xs[k].subarray(o * run, (o + 1) * run), at);
      at += run;
    }
  }
}
