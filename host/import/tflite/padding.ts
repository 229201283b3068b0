// TFLite's SAME/VALID window padding (kernels/padding.h) through the shared windowAxis: SAME puts the odd leftover
// padding cell at the bottom/right, so only top/left are needed.

import type { Conv2DOptions } from '../../ir/contract';
import { ModelError } from '../../ir/graph';
import { type WindowPadding, windowAxis } from '../../ir/shape';
import { Padding } from './schema';

/** A TFLite Padding value as the shared helper's padding. */
export function tflitePadding(padding: number): WindowPadding {
  if (padding === Padding.SAME) return 'same';
  if (padding === Padding.VALID) return 'valid';
  throw new ModelError(`unknown padding type ${padding}`);
}

type Geometry2D = Pick<Conv2DOptions, 'stride_h' | 'stride_w' | 'dilation_h' | 'dilation_w' | 'pad_top' | 'pad_left'>;

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
  const mode = tflitePadding(padding);
  const h = windowAxis(mode, inShape[1], filter[0], stride[0], dilation[0]);
  const w = windowAxis(mode, inShape[2], filter[1], stride[1], dilation[1]);
  if (outShape[1] !== h.out || outShape[2] !== w.out) {
    throw new ModelError(
      `${where}: output is ${outShape[1]}×${outShape[2]} but ${mode.toUpperCase()} padding gives ${h.out}×${w.out}`,
    );
  }
  return {
    stride_h: stride[0],
    stride_w: stride[1],
    dilation_h: dilation[0],
    dilation_w: dilation[1],
    pad_top: h.before,
    pad_left: w.before,
  };
}

/**
 * TRANSPOSE_CONV's top and left crop: TFLite pads it as a convolution from the output back to the input
 * (transpose_conv.cc, ComputePaddingHeightWidth over the output's size).
 */
export function transposeConvPads(
  padding: number,
  outShape: readonly number[],
  filter: readonly number[],
  stride: readonly number[],
): [top: number, left: number] {
  const mode = tflitePadding(padding);
  return [
    windowAxis(mode, outShape[1], filter[0], stride[0]).before,
    windowAxis(mode, outShape[2], filter[1], stride[1]).before,
  ];
}
