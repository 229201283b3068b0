import type { ArithmeticOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/**
 * TFLite's int8 ADD / SUB (reference_integer_ops::AddElementwise): both inputs rescaled to a common
 * 2^left_shift-scaled base, combined, requantized. `ia`/`ib` map output elements to input elements (broadcast).
 */
export function arithmetic(
  a: Int8Array,
  ia: Int32Array,
  b: Int8Array,
  ib: Int32Array,
  y: Int8Array,
  o: ArithmeticOptions,
  subtract: boolean,
  rounding: Rounding,
): void {
  const shift = Math.pow(2, o.left_shift);
  for (let i = 0; i < y.length; i++) {
    const s1 = multiplyByQuantizedMultiplier(
      (a[ia[i]] + o.input1_offset) * shift,
      o.input1_multiplier,
      o.input1_shift,
      rounding,
    );
    const s2 = multiplyByQuantizedMultiplier(
      (b[ib[i]] + o.input2_offset) * shift,
      o.input2_multiplier,
      o.input2_shift,
      rounding,
    );
    const v =
      multiplyByQuantizedMultiplier(subtract ? s1 - s2 : s1 + s2, o.output_multiplier, o.output_shift, rounding) +
      o.output_offset;
    y[i] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
  }
}
