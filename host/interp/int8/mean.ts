import type { MeanOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** MEAN over H·W positions of NHWC (TFLite's reference_integer_ops::Mean). */
export function mean(
  x: Int8Array,
  y: Int8Array,
  positions: number,
  C: number,
  o: MeanOptions,
  rounding: Rounding,
): void {
  const half = Math.trunc(positions / 2);
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < positions; i++) acc += x[i * C + c] - o.input_zero_point;
    acc = multiplyByQuantizedMultiplier(acc, o.multiplier, o.shift, rounding);
    acc = Math.trunc(acc > 0 ? (acc + half) / positions : (acc - half) / positions) + o.output_zero_point;
    y[c] = acc < -128 ? -128 : acc > 127 ? 127 : acc;
  }
}
