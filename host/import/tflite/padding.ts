// TFLite's output size and padding for SAME/VALID (kernels/padding.h ComputeOutSize and ComputePaddingHeightWidth):
// SAME puts the odd leftover padding cell at the bottom/right, so only top/left are needed.

import { ModelError } from '../../ir/graph';
import { Padding } from './schema';

export function computeOutSize(
  padding: number,
  inSize: number,
  filterSize: number,
  stride: number,
  dilation: number,
): number {
  const effectiveFilter = (filterSize - 1) * dilation + 1;
  if (padding === Padding.SAME) return Math.floor((inSize + stride - 1) / stride);
  if (padding === Padding.VALID) return Math.floor((inSize + stride - effectiveFilter) / stride);
  throw new ModelError(`unknown padding type ${padding}`);
}

/** Padding before the first element along one axis. */
export function computePadding(
  stride: number,
  dilation: number,
  inSize: number,
  filterSize: number,
  outSize: number,
): number {
  const effectiveFilter = (filterSize - 1) * dilation + 1;
  const total = (outSize - 1) * stride + effectiveFilter - inSize;
  return total > 0 ? Math.floor(total / 2) : 0;
}

export interface Geometry2D {
  stride_h: number;
  stride_w: number;
  dilation_h: number;
  dilation_w: number;
  pad_top: number;
  pad_left: number;
}

/** Strides, dilations and top/left padding of a 2-D window op; checks the model's output size against TFLite's. */
export function windowGeometry(
  padding: number,
  inShape: readonly number[],
  filter: [h: number, w: number],
  stride: [h: number, w: number],
  dilation: [h: number, w: number],
  outShape: readonly number[],
  where: string,
): Geometry2D {
  const [, inH, inW] = inShape;
  const outH = computeOutSize(padding, inH, filter[0], stride[0], dilation[0]);
  const outW = computeOutSize(padding, inW, filter[1], stride[1], dilation[1]);
  if (outShape[1] !== outH || outShape[2] !== outW) {
    throw new ModelError(
      `${where}: output is ${outShape[1]}×${outShape[2]} but ${padding === Padding.SAME ? 'SAME' : 'VALID'} padding gives ${outH}×${outW}`,
    );
  }
  return {
    stride_h: stride[0],
    stride_w: stride[1],
    dilation_h: dilation[0],
    dilation_w: dilation[1],
    pad_top: computePadding(stride[0], dilation[0], inH, filter[0], outH),
    pad_left: computePadding(stride[1], dilation[1], inW, filter[1], outW),
  };
}
