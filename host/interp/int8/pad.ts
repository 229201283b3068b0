import type { PadOptions } from '../../ir/qmodel';

/** PAD: the output is pad_value except for the input copied at offset paddings[2d] in each dimension d. */
export function pad(
  x: Int8Array,
  inShape: readonly number[],
  y: Int8Array,
  outShape: readonly number[],
  o: PadOptions,
): void {
  y.fill(o.pad_value);
  const rank = inShape.length;
  const rowLength = inShape[rank - 1];
  const outStrides = new Array<number>(rank);
  outStrides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) outStrides[d] = outStrides[d + 1] * outShape[d + 1];
  const rows = x.length / rowLength;
  const coord = new Array<number>(rank).fill(0);
  for (let r = 0; r < rows; r++) {
    let at = 0;
    for (let d = 0; d < rank; d++) at += (coord[d] + o.paddings[2 * d]) * outStrides[d];
    y.set(x.subarray(r * rowLength, (r + 1) * rowLength), at);
    for (let d = rank - 2; d >= 0; d--) {
      if (++coord[d] < inShape[d]) break;
      coord[d] = 0;
    }
  }
}
