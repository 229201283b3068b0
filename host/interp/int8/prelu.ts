import type { PreluOptions } from '../../ir/qmodel';
import { clampInt, multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** TFLite's int8 PRELU (reference_ops::BroadcastPrelu4DSlow); `ia`/`ib` map output elements to x and alpha. */
export function prelu(
  x: Int8Array,
  ia: Int32Array,
  alpha: Int8Array,
  ib: Int32Array,
  y: Int8Array,
  o: PreluOptions,
  rounding: Rounding,
): void {
  for (let i = 0; i < y.length; i++) {
    const v = x[ia[i]] + o.input_offset;
    const r =
      v >= 0
        ? multiplyByQuantizedMultiplier(v, o.output_multiplier_1, o.output_shift_1, rounding)
        : multiplyByQuantizedMultiplier(
            v * (alpha[ib[i]] + o.alpha_offset),
            o.output_multiplier_2,
            o.output_shift_2,
            rounding,
          );
    y[i] = clampInt(r + o.output_offset, -128, 127);
  }
}
