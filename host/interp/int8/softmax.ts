import type { SoftmaxOptions } from '../../ir/qmodel';
import { roundingDivideByPOT, saturatingRoundingDoublingHighMul } from '../../quantize/fixedpoint';
import { getReciprocal } from '../../quantize/gemmlowp';

const ACCUMULATION_INTEGER_BITS = 12;

/**
 * TFLite's int8 SOFTMAX over rows of `depth` (reference_ops::Softmax with the exp of each max − x difference looked
 * up): sum the exps in Q12.19, take the reciprocal, scale each exp to 1/256 units, shift to zero point −128.
 */
export function softmax(x: Int8Array, y: Int8Array, depth: number, o: SoftmaxOptions): void {
  const table = o.exp_table;
  for (let r = 0; r < x.length; r += depth) {
    let max = -128;
    for (let c = 0; c < depth; c++) if (x[r + c] > max) max = x[r + c];
    // Rescale<12> of each Q0.31 exp: the accumulator has 12 integer bits.
    let sum = 0;
    for (let c = 0; c < depth; c++) sum += roundingDivideByPOT(table[max - x[r + c]], ACCUMULATION_INTEGER_BITS);
    const { reciprocal, numBitsOverUnit } = getReciprocal(sum | 0, ACCUMULATION_INTEGER_BITS);
    for (let c = 0; c < depth; c++) {
      const v =
        roundingDivideByPOT(
          saturatingRoundingDoublingHighMul(reciprocal, table[max - x[r + c]]),
          numBitsOverUnit + 31 - 8,
        ) - 128;
      y[r + c] = v > 127 ? 127 : v < -128 ? -128 : v;
    }
  }
}
