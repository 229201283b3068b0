import type { LogSoftmaxOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding, roundingDivideByPOT } from '../../quantize/fixedpoint';
import { logXForXGreaterThanOrEqualTo1 } from '../../quantize/gemmlowp';

const INT32_MIN = -2147483648;

/**
 * TFLM's int8 LOG_SOFTMAX over rows of `depth` (reference_ops::LogSoftmaxQuantized, with the Q5.26 differences and
 * their Q12.19 exps looked up by d = max − x): sum the exps, take log of the sum in Q5.26, and write
 * (difference − log sum) in 1/16 units from zero point 127; differences at or below the adjusted diff_min give −128.
 */
export function logSoftmax(x: Int8Array, y: Int8Array, depth: number, o: LogSoftmaxOptions, rounding: Rounding): void {
  for (let r = 0; r < x.length; r += depth) {
    let max = -128;
    for (let c = 0; c < depth; c++) if (x[r + c] > max) max = x[r + c];
    let sum = 0;
    for (let c = 0; c < depth; c++) sum += o.exp_q12[max - x[r + c]];
    const logSum = logXForXGreaterThanOrEqualTo1(sum | 0, 12, 5);
    const adjustedDiffMin = Math.max(
      o.diff_min - 1,
      multiplyByQuantizedMultiplier(
        (logSum + INT32_MIN) | 0,
        o.reverse_scaling_divisor,
        -o.reverse_scaling_right_shift,
        rounding,
      ),
    );
    for (let c = 0; c < depth; c++) {
      const d = max - x[r + c];
      const v = -d > adjustedDiffMin ? roundingDivideByPOT(o.diff_q5[d] - logSum, 31 - 5 - 4) + 127 : -128;
      y[r + c] = v > 127 ? 127 : v < -128 ? -128 : v;
    }
  }
}
