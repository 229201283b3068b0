// What CONV_2D and DEPTHWISE_CONV_2D share: the window geometry read from Conv2DOptions, the taps' offsets, and
// gathering a window that crosses the input's border (taps outside the input read the input zero point, which
// the folded bias cancels).

import {
  Conv2DOptions_dilation_h,
  Conv2DOptions_dilation_w,
  Conv2DOptions_input_zero_point,
  Conv2DOptions_pad_left,
  Conv2DOptions_pad_top,
  Conv2DOptions_stride_h,
  Conv2DOptions_stride_w,
  Options_Conv2DOptions,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { inputInfo, needOptions, type OpContext, optI32, outputInfo } from '../op';
import { type Buf, newInt32 } from '../platform/api';

/** An NHWC input (batch 1), its output, and the window that slides over it. */
export interface ConvGeometry {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  padTop: number;
  padLeft: number;
  inZp: number;
}

/** Reads and checks a convolution's tensors (4-D, batch 1; weights [_, kH, kW, _]) and window options. */
export function readConvGeometry(ctx: OpContext): ConvGeometry {
  needOptions(ctx, Options_Conv2DOptions);
  const xs = inputInfo(ctx, 0).shape,
    ys = outputInfo(ctx).shape,
    ws = inputInfo(ctx, 1).shape;
  if (xs.length !== 4 || ys.length !== 4 || ws.length !== 4 || xs[0] !== 1 || ys[0] !== 1)
    badShape(ctx.index, 'conv tensors must be 4-D, batch 1');
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  const g: ConvGeometry = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    inH: xs[1],
    inW: xs[2],
    inC: xs[3],
    outH: ys[1],
    outW: ys[2],
    outC: ys[3],
    kH: ws[1],
    kW: ws[2],
    strideH: optI32(ctx, Conv2DOptions_stride_h, 1),
    strideW: optI32(ctx, Conv2DOptions_stride_w, 1),
    dilH: optI32(ctx, Conv2DOptions_dilation_h, 1),
    dilW: optI32(ctx, Conv2DOptions_dilation_w, 1),
    padTop: optI32(ctx, Conv2DOptions_pad_top, 0),
    padLeft: optI32(ctx, Conv2DOptions_pad_left, 0),
    inZp: optI32(ctx, Conv2DOptions_input_zero_point, 0),
  };
  if (
    !(
      g.strideH >= 1 &&
      g.strideW >= 1 &&
      g.dilH >= 1 &&
      g.dilW >= 1 &&
      g.padTop >= 0 &&
      g.padLeft >= 0 &&
      g.padTop < 256 &&
      g.padLeft < 256
    )
  )
    badOptions(ctx.index, 'strides/pads');
  if (!(g.inZp >= -128 && g.inZp <= 127)) badOptions(ctx.index, 'input zero point');
  return g;
}

/** The offsets of a window's taps (ky, kx, then channels c) from its top-left tap, rows rowStep and columns colStep apart. */
export function tapOffsets(g: ConvGeometry, channels: number, rowStep: number, colStep: number): Buf {
  const offsets = newInt32(g.kH * g.kW * channels);
  let t = 0;
  for (let ky = 0; ky < g.kH; ky++) {
    for (let kx = 0; kx < g.kW; kx++) {
      for (let c = 0; c < channels; c++) offsets[t + c] = ky * rowStep + kx * colStep + c;
      t += channels;
    }
  }
  return offsets;
}

// The kH·kW·inC taps of the window at (iy0, ix0) into patch in weight order, the input zero point where a tap lies
// outside the input.
export function gatherWindow(p: ConvGeometry, iy0: number, ix0: number, patch: Buf): void {
  const x = p.x,
    xo = p.xOff,
    inH = p.inH,
    inW = p.inW,
    inC = p.inC,
    kH = p.kH,
    kW = p.kW,
    zp = p.inZp,
    dh = p.dilH,
    dw = p.dilW;
  let t = 0;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dh;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dw,
        xb = xo + (iy * inW + ix) * inC;
      const ok = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      for (let c = 0; c < inC; c++) patch[t + c] = ok ? x[xb + c] : zp;
      t += inC;
    }
  }
}
