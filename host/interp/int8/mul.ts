import type { MulOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** TFLite's int8 MUL (reference_integer_ops::MulElementwise); `ia`/`ib` map output elements to input elements. */
export function mul(
  a: Int8Array,
  ia: Int32Array,
  b: Int8Array,
  ib: Int32Array,
  y: Int8Array,
  o: MulOptions,
  rounding: Rounding,
): void {
  for (let i = 0; i < y.length; i++) {
    const product = (a[ia[i]] + o.input1_offset) * (b[ib[i]] + o.input2_offset);
    const v = multiplyByQuantizedMultiplier(product, o.output_multiplier, o.output_shift, rounding) + o.output_offset;
    y[i] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
  }
}
