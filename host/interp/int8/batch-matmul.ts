import type { BatchMatMulOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** TFLite's int8 BATCH_MATMUL (reference_ops::BatchMatMul): y[b] = (x1[b] + lhs_offset)·(x2[b] + rhs_offset), requantized. */
export function batchMatMul(a: Int8Array, b: Int8Array, y: Int8Array, o: BatchMatMulOptions, rounding: Rounding): void {
  const { rows: M, depth: K, cols: N } = o;
  for (let bi = 0; bi < o.batch; bi++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++)
          acc +=
            (a[bi * o.lhs_batch_stride + m * K + k] + o.lhs_offset) *
            (b[bi * o.rhs_batch_stride + k * N + n] + o.rhs_offset);
        const v =
          multiplyByQuantizedMultiplier(acc, o.output_multiplier, o.output_shift, rounding) + o.output_zero_point;
        y[(bi * M + m) * N + n] = Math.min(o.activation_max, Math.max(o.activation_min, v));
      }
}
