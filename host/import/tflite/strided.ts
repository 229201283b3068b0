// A GATHER_STRIDED view as TFLite sees it: the flat input index of every output element. The export writes a
// view as one GATHER of the flattened input with these indices; the import recovers the view from them.

/** The flat input index of every element of the view y[i] = x[offset + Σ i_d·strides[d]], in row-major order. */
export function stridedIndices(offset: number, shape: readonly number[], strides: readonly number[]): number[] {
  let indices = [offset];
  shape.forEach((n, d) => {
    indices = indices.flatMap((base) => Array.from({ length: n }, (_, i) => base + i * strides[d]));
  });
  return indices;
}

/** The offset and strides over `shape` that give exactly `indices`, or undefined when they are not evenly spaced. */
export function stridedView(
  indices: readonly number[],
  shape: readonly number[],
): { offset: number; strides: number[] } | undefined {
  const offset = indices[0];
  let step = indices.length;
  const strides = shape.map((n) => {
    step /= n;
    return n > 1 ? indices[step] - offset : 0;
  });
  const again = stridedIndices(offset, shape, strides);
  return again.length === indices.length && again.every((v, i) => v === indices[i]) ? { offset, strides } : undefined;
}
