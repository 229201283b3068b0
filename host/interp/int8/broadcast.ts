// TFLite's NdArrayDesc broadcasting for the binary ops: shapes are right-aligned, and a dimension of size 1
// repeats along the output's. Precomputed once per op as a flat index map so the element loops stay plain.

import { ModelError } from '../../ir/graph';
import { numel } from '../../ir/shape';

/** For each element of the output, the flat index of the input element it reads. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  if (inShape.length > rank) throw new ModelError(`cannot broadcast [${inShape}] to [${outShape}]`);
  const dims = [...new Array(rank - inShape.length).fill(1), ...inShape];
  const strides = new Array<number>(rank);
  let stride = 1;
  for (let d = rank - 1; d >= 0; d--) {
    if (dims[d] !== 1 && dims[d] !== outShape[d])
      throw new ModelError(`cannot broadcast [${inShape}] to [${outShape}]`);
    strides[d] = dims[d] === 1 ? 0 : stride;
    stride *= dims[d];
  }
  const total = numel(outShape);
  const index = new Int32Array(total);
  const coord = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < total; i++) {
    index[i] = at;
    for (let d = rank - 1; d >= 0; d--) {
      at += strides[d];
      if (++coord[d] < outShape[d]) break;
      at -= strides[d] * outShape[d];
      coord[d] = 0;
    }
  }
  return index;
}
