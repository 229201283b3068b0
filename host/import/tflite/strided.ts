// TFLite's GATHER, reductions and BATCH_MATMUL as Morsel's GATHER_STRIDED, REDUCE and BATCH_MATMUL geometry, shared
// by the int8 and the float importer. A strided view as TFLite sees it is the flat input index of every output
// element: the export writes a view as one GATHER of the flattened input with these indices; the import recovers
// the view from them.

import { ModelError } from '../../ir/graph';
import { numel } from '../../ir/shape';

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

/** GATHER of constant `indices` along `axis` of an input [xs] into [ys]: the strided view it is, or a refusal. */
export function gatherView(where: string, xs: readonly number[], axis: number, indices: number[], ys: number[]) {
  const [along, inner] = [xs[axis], numel(xs.slice(axis + 1))];
  if (indices.some((i) => i < 0 || i >= along)) throw new ModelError(`${where}: an index is outside [0, ${along})`);
  const flat = Array.from({ length: numel(xs.slice(0, axis)) }, (_, outer) =>
    indices.flatMap((i) => Array.from({ length: inner }, (_, k) => (outer * along + i) * inner + k)),
  ).flat();
  const view = stridedView(flat, ys);
  if (!view) throw new ModelError(`${where}: indices [${indices}] are not evenly spaced; Morsel gathers strided views`);
  return { ...view, shape: ys.slice() };
}

/** A reduction of [xs] over `axes` (adjacent, any sign) as [outer, count, inner], or a refusal. */
export function reduceGeometry(where: string, xs: readonly number[], axes: number[]) {
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + xs.length : a)))].sort((a, b) => a - b);
  if (sorted.some((a, k) => a !== sorted[0] + k))
    throw new ModelError(`${where}: axes [${sorted}] are not adjacent; Morsel reduces adjacent axes`);
  return {
    outer: numel(xs.slice(0, sorted[0])),
    count: numel(xs.slice(sorted[0], sorted[0] + sorted.length)),
    inner: numel(xs.slice(sorted[0] + sorted.length)),
  };
}

/** BATCH_MATMUL of [..., rows, depth] × [..., depth, cols], a batch of 1 broadcasting (stride 0), or a refusal. */
export function batchMatMulGeometry(where: string, a: readonly number[], b: readonly number[], adjoint: boolean) {
  if (adjoint)
    throw new ModelError(`${where}: BATCH_MATMUL with adj_x or adj_y (a transposed operand) is not supported`);
  const [rows, depth] = a.slice(-2);
  const cols = b[b.length - 1];
  const [na, nb] = [numel(a.slice(0, -2)), numel(b.slice(0, -2))];
  const batch = Math.max(na, nb);
  if (b[b.length - 2] !== depth || (na !== batch && na !== 1) || (nb !== batch && nb !== 1))
    throw new ModelError(`${where}: [${a}] × [${b}] is not a batch of matrix products Morsel supports`);
  return {
    batch,
    rows,
    depth,
    cols,
    lhs_batch_stride: na === 1 ? 0 : rows * depth,
    rhs_batch_stride: nb === 1 ? 0 : depth * cols,
  };
}
