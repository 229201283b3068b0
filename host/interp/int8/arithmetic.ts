import { ArithmeticOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, Rounding } from '../../quantize/fixedpoint';

/** TFLite's int8 ADD / SUB: both inputs rescaled to a common 2^left_shift-scaled base, summed, requantized. */
export function arithmetic(a: Int8Array, b: Int8Array, y: Int8Array, o: ArithmeticOptions, subtract: boolean, rounding: Rounding): void {
  const shift = Math.pow(2, o.left_shift);
  for (let i = 0; i < y.length; i++) {
    const s1 = multiplyByQuantizedMultiplier((a[i % a.length] + o.input1_offset) * shift, o.input1_multiplier, o.input1_shift, rounding);
    const s2 = multiplyByQuantizedMultiplier((b[i % b.length] + o.input2_offset) * shift, o.input2_multiplier, o.input2_shift, rounding);
    const v = multiplyByQuantizedMultiplier(subtract ? s1 - s2 : s1 + s2, o.output_multiplier, o.output_shift, rounding) + o.output_offset;
    y[i] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
  }
}
