// What CONV_2D and DEPTHWISE_CONV_2D share: the window geometry read from Conv2DOptions (its window part shared with
// the pools), the taps' offsets, and gathering a window that crosses the input's border (taps outside the input
// read the input zero point, which the folded bias cancels).

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

/** An NHWC input (batch 1), its output, and the window of kH×kW taps that slides over it (a convolution's or a pool's). */
export interface WindowGeometry {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/** A convolution's window, with its output channels, dilations and the input zero point its padding reads. */
export interface ConvGeometry extends WindowGeometry {
  outC: number;
  dilH: number;
  dilW: number;
  inZp: number;
}

/**
 * Reads and checks a window's tensors (input and output 4-D, batch 1) and its strides and pads, at the vtable offsets
 * `fields` (stride_h, stride_w, pad_top, pad_left); kH×kW is the window's size.
 */
export function readWindowGeometry(ctx: OpContext, kH: number, kW: number, fields: number[]): WindowGeometry {
  const xs = inputInfo(ctx, 0).shape,
    ys = outputInfo(ctx).shape;
  // Batch 1 both sides: the evals write one image (an output of batch 2 would leave the rest stale).
  if (xs.length !== 4 || ys.length !== 4 || xs[0] !== 1 || ys[0] !== 1)
    badShape(ctx.index, 'window tensors must be 4-D, batch 1');
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  const g: WindowGeometry = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    inH: xs[1],
    inW: xs[2],
    inC: xs[3],
    outH: ys[1],
    outW: ys[2],
    kH: kH,
    kW: kW,
    strideH: optI32(ctx, fields[0], 1),
    strideW: optI32(ctx, fields[1], 1),
    padTop: optI32(ctx, fields[2], 0),
    padLeft: optI32(ctx, fields[3], 0),
  };
  if (!(g.strideH >= 1 && g.strideW >= 1 && g.padTop >= 0 && g.padLeft >= 0 && g.padTop < 256 && g.padLeft < 256))
    badOptions(ctx.index, 'strides/pads');
  return g;
}

/** Reads and checks a convolution's tensors (weights [_, kH, kW, _]) and window options. */
export function readConvGeometry(ctx: OpContext): ConvGeometry {
  needOptions(ctx, Options_Conv2DOptions);
  const ws = inputInfo(ctx, 1).shape;
  if (ws.length !== 4) badShape(ctx.index, 'conv tensors must be 4-D, batch 1');
  const g = readWindowGeometry(ctx, ws[1], ws[2], [
    Conv2DOptions_stride_h,
    Conv2DOptions_stride_w,
    Conv2DOptions_pad_top,
    Conv2DOptions_pad_left,
  ]) as ConvGeometry;
  g.outC = outputInfo(ctx).shape[3];
  g.dilH = optI32(ctx, Conv2DOptions_dilation_h, 1);
  g.dilW = optI32(ctx, Conv2DOptions_dilation_w, 1);
  g.inZp = optI32(ctx, Conv2DOptions_input_zero_point, 0);
  if (!(g.dilH >= 1 && g.dilW >= 1)) badOptions(ctx.index, 'strides/pads');
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
