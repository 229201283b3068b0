// PAD with a constant: the output is pad_value except for the input, placed at offset paddings[2d] in each
// dimension d. Prepared as at most four loops over the input (innermost: one contiguous row) with output strides.

import { Options_PadOptions, PadOptions_pad_value, PadOptions_paddings } from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import type { Buf } from '../platform/api';

const PAD_RANK = 4;

interface PadData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  count: number;
  padValue: number;
  /** The input's extents (left-aligned to PAD_RANK), the output's strides, the input's first output position. */
  dims: number[];
  strideY: number[];
  padBase: number;
}

function preparePad(ctx: OpContext): PadData {
  needOptions(ctx, Options_PadOptions);
  const oi = ctx.index,
    xShape = inputInfo(ctx, 0).shape,
    yShape = outputInfo(ctx).shape,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  let rank = xShape.length;
  let paddings = intVector(ctx.blob, ctx.options, PadOptions_paddings);
  if (rank > PAD_RANK) badShape(oi, 'pads ' + rank + ' dimensions, at most ' + PAD_RANK);
  const p: PadData = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    count: outputInfo(ctx).count,
    padValue: optI32(ctx, PadOptions_pad_value, 0),
    dims: [],
    strideY: [],
    padBase: 0,
  };
  if (!(p.padValue >= -128 && p.padValue <= 127)) badOptions(oi, 'pad value is not int8');
  let ok = yShape.length === rank && paddings.length === 2 * rank;
  // Left-aligned to PAD_RANK dimensions: leading dimensions of size 1 without padding.
  let stride = 1;
  for (let k = PAD_RANK - 1; k >= 0; k--) {
    let d = k - PAD_RANK + rank;
    let inD = d >= 0 ? xShape[d] : 1;
    ok =
      ok &&
      (d < 0 ||
        (paddings[2 * d] >= 0 &&
          paddings[2 * d + 1] >= 0 &&
          inD + paddings[2 * d] + paddings[2 * d + 1] === yShape[d]));
    p.dims.unshift(inD);
    p.strideY.unshift(stride);
    if (d >= 0) {
      p.padBase += paddings[2 * d] * stride;
      stride *= yShape[d];
    }
  }
  if (!ok)
    badShape(
      oi,
      'paddings [' + paddings.join(',') + '] do not take [' + xShape.join(',') + '] to [' + yShape.join(',') + ']',
    );
  return p;
}

function evalPad(p: PadData): void {
  let x = p.x,
    y = p.y,
    n = p.count,
    value = p.padValue,
    d = p.dims,
    sy = p.strideY,
    row = d[3],
    xAt = p.xOff,
    yo = p.yOff;
  for (let i = 0; i < n; i++) y[yo + i] = value;
  for (let i0 = 0; i0 < d[0]; i0++) {
    for (let i1 = 0; i1 < d[1]; i1++) {
      for (let i2 = 0; i2 < d[2]; i2++) {
        let yAt = yo + p.padBase + i0 * sy[0] + i1 * sy[1] + i2 * sy[2];
        for (let c = 0; c < row; c++) y[yAt + c] = x[xAt + c];
        xAt += row;
      }
    }
  }
}

export const PAD: OpRegistration = { prepare: preparePad, eval: evalPad };
