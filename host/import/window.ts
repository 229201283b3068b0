// Window geometry shared by the importers (convolution and pooling): SAME padding and output sizes, written once.
// The `contracts` branch is adding the project-wide helper; these are the importers' only copies, to swap for it.

import { ModelError } from '../ir/graph';

/** The extent of a dilated window: (k − 1)·d + 1. */
export const dilatedExtent = (kernel: number, dilation: number): number => (kernel - 1) * dilation + 1;

/** SAME padding along one axis (TF, TFLite, ONNX SAME_UPPER): output ⌈size/stride⌉, the odd cell after. */
export function samePadding(size: number, stride: number, extent: number): { before: number; total: number } {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + extent - size, 0);
  return { before: Math.floor(total / 2), total };
}

/**
 * Output length of a window over `size` values padded by `padTotal`: floor, or with `ceil` (ONNX/PyTorch ceil_mode)
 * rounded up, less the last window when it would start past the input and its left padding `ceil.padBefore` (as
 * PyTorch and onnxruntime drop it). A window that does not fit is an error.
 */
export function windowOutSize(
  size: number,
  padTotal: number,
  extent: number,
  stride: number,
  where: string,
  ceil?: { padBefore: number },
): number {
  const span = size + padTotal - extent;
  if (span < 0)
    throw new ModelError(`${where}: a window of ${extent} does not fit an input of ${size} (padded by ${padTotal})`);
  if (!ceil) return Math.floor(span / stride) + 1;
  const out = Math.ceil(span / stride) + 1;
  return (out - 1) * stride >= size + ceil.padBefore ? out - 1 : out;
}
