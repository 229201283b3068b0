// Shape arithmetic shared by the importers, the quantizer, the interpreters and the compression tools: element
// counts, per-channel strides, and the output size and padding of a sliding window (SAME/VALID).

import type { Padding } from './graph';

/** Number of elements of a tensor of this shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when two shapes (or any number arrays) hold the same values in the same order. */
export const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/**
 * Elements between consecutive channels along `axis` of a row-major tensor: flat index i is in channel
 * floor(i / elementsPerChannel(shape, axis)) % shape[axis].
 */
export const elementsPerChannel = (shape: readonly number[], axis: number): number => numel(shape.slice(axis + 1));

/**
 * How a window op pads: VALID (none), or SAME, whose output has ceil(in / stride) positions and whose odd leftover
 * cell goes after (TFLite, Keras, ONNX SAME_UPPER) or before (ONNX SAME_LOWER).
 */
export type WindowPadding = 'valid' | 'same' | 'same_lower';

/** One spatial axis of a window op: how many outputs, and the padding before and after the input. */
interface WindowAxis {
  out: number;
  before: number;
  after: number;
}

/** TFLite's ComputeOutSize and ComputePaddingHeightWidth (kernels/padding.h), ONNX auto_pad and Keras padding. */
export function windowAxis(
  padding: WindowPadding,
  inSize: number,
  filter: number,
  stride: number,
  dilation = 1,
): WindowAxis {
  const effectiveFilter = (filter - 1) * dilation + 1;
  if (padding === 'valid') return { out: Math.floor((inSize - effectiveFilter) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effectiveFilter - inSize, 0);
  const before = padding === 'same' ? Math.floor(total / 2) : Math.ceil(total / 2);
  return { out, before, after: total - before };
}

/** windowAxis over height and width: the IR's [top, left, bottom, right] padding and the output size. */
export function windowPadding2D(
  padding: WindowPadding,
  inHW: readonly [number, number] | readonly number[],
  filter: readonly number[],
  stride: readonly number[],
  dilation: readonly number[] = [1, 1],
): { pads: Padding; outH: number; outW: number } {
  const h = windowAxis(padding, inHW[0], filter[0], stride[0], dilation[0]);
  const w = windowAxis(padding, inHW[1], filter[1], stride[1], dilation[1]);
  return { pads: [h.before, w.before, h.after, w.after], outH: h.out, outW: w.out };
}
