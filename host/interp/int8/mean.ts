import type { MeanOptions } from '../../ir/qmodel';
import type { Rounding } from '../../quantize/fixedpoint';
import { REDUCERS, reduce } from './reduce';

/** MEAN over H·W positions of NHWC (TFLite's reference_integer_ops::Mean): REDUCE over one block, C apart. */
export function mean(
  x: Int8Array,
  y: Int8Array,
  positions: number,
  C: number,
  o: MeanOptions,
  rounding: Rounding,
): void {
  reduce(x, y, { reducer: REDUCERS.indexOf('mean'), outer: 1, count: positions, inner: C, ...o }, rounding);
}
