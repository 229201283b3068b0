import type { ReduceOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** The schema's ReduceOptions.reducer values. */
export const REDUCERS = ['mean', 'sum', 'max'] as const;

/**
 * REDUCE over `count` values `inner` apart for each (outer, inner) output: MEAN as TFLite's int8 Mean (MBQM of the
 * zero-centred sum, then divided by the count rounding half away from zero), SUM (MBQM of the zero-centred sum),
 * MAX (the input's quantization).
 */
export function reduce(x: Int8Array, y: Int8Array, o: ReduceOptions, rounding: Rounding): void {
  const { outer, count, inner } = o;
  const half = Math.trunc(count / 2);
  for (let b = 0; b < outer; b++)
    for (let i = 0; i < inner; i++) {
      const at = (r: number) => x[(b * count + r) * inner + i];
      let v: number;
      if (REDUCERS[o.reducer] === 'max') {
        v = -128;
        for (let r = 0; r < count; r++) v = Math.max(v, at(r));
      } else {
        let acc = 0;
        for (let r = 0; r < count; r++) acc += at(r) - o.input_zero_point;
        acc = multiplyByQuantizedMultiplier(acc, o.multiplier, o.shift, rounding);
        if (REDUCERS[o.reducer] === 'mean') acc = Math.trunc(acc > 0 ? (acc + half) / count : (acc - half) / count);
        v = Math.min(127, Math.max(-128, acc + o.output_zero_point));
      }
      y[b * inner + i] = v;
    }
}
