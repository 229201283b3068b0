// DEPTHWISE_CONV_2D: each output channel c sums its kH·kW taps of input channel c / depth multiplier. A pixel
// whose window crosses the input's border has its window gathered into the op's patch (gatherWindow), as in
// CONV_2D; properties are read off the op once per invocation.

import { type Requant, readRequant, requantizeRow } from '../fixedpoint';
import {
  Conv2DOptions_activation_max,
  Conv2DOptions_activation_min,
  Conv2DOptions_depth_multiplier,
  Conv2DOptions_output_multiplier,
  Conv2DOptions_output_shift,
  Conv2DOptions_output_zero_point,
} from '../format/layout';
import { badShape } from '../format/reader';
import {
  inputInfo,
  type OpContext,
  type OpRegistration,
  optI32,
  requestScratch8,
  requestScratch32,
  type Scratch,
} from '../op';
import { type Buf, floor, newInt32 } from '../platform/api';
import { type ConvGeometry, gatherWindow, readConvGeometry, tapOffsets } from './conv';
import { checkAccumulators, type DenseWeights, readDenseWeights } from './dense';

export interface DepthwiseConv2DData {
  g: ConvGeometry;
  weights: DenseWeights;
  rq: Requant;
  /** kH·kW taps (of channel 0): their input offsets from the top-left tap, and the same in the gathered patch. */
  taps: number;
  tapOffsets: Buf;
  patchOffsets: Buf;
  /** Each output channel's input channel, c / depth multiplier. */
  depthInChannel: Buf;
  /** Scratch indices: the gathered window at the border (int8), the accumulator row (int32). */
  scratch: Scratch;
  patch: number;
  acc: number;
}

function prepareDepthwiseConv2D(ctx: OpContext): DepthwiseConv2DData {
  const weights = readDenseWeights(ctx, null);
  const g = readConvGeometry(ctx),
    ws = inputInfo(ctx, 1).shape,
    multiplier = optI32(ctx, Conv2DOptions_depth_multiplier, 1);
  if (
    !(ws[0] === 1 && ws[3] === g.outC && multiplier >= 1 && g.inC * multiplier === g.outC) ||
    inputInfo(ctx, 2).count !== g.outC
  )
    badShape(ctx.index, 'conv weight shape');
  const taps = g.kH * g.kW;
  checkAccumulators(ctx, weights, g.outC, taps, 1, g.outC);
  const depthInChannel = newInt32(g.outC);
  for (let c = 0; c < g.outC; c++) depthInChannel[c] = floor(c / multiplier);
  return {
    g: g,
    weights: weights,
    rq: readRequant(
      ctx,
      [
        Conv2DOptions_output_multiplier,
        Conv2DOptions_output_shift,
        Conv2DOptions_output_zero_point,
        Conv2DOptions_activation_min,
        Conv2DOptions_activation_max,
      ],
      weights.bias,
      g.outC,
      taps,
    ),
    taps: taps,
    tapOffsets: tapOffsets(g, 1, g.dilH * g.inW * g.inC, g.dilW * g.inC),
    patchOffsets: tapOffsets(g, 1, g.kW * g.inC, g.inC),
    depthInChannel: depthInChannel,
    scratch: ctx.scratch,
    patch: requestScratch8(ctx, taps * g.inC),
    acc: requestScratch32(ctx, g.outC),
  };
}

function evalDepthwiseConv2D(d: DepthwiseConv2DData): void {
  const g = d.g,
    x = g.x,
    xo = g.xOff,
    inH = g.inH,
    inW = g.inW,
    inC = g.inC,
    outH = g.outH,
    outW = g.outW,
    outC = g.outC,
    kH = g.kH,
    kW = g.kW;
  const sh = g.strideH,
    sw = g.strideW,
    dh = g.dilH,
    dw = g.dilW,
    pt = g.padTop,
    pl = g.padLeft;
  const rq = d.rq,
    patch = d.scratch.int8[d.patch],
    offsets = d.tapOffsets,
    patchOffsets = d.patchOffsets,
    n = d.taps;
  const w = d.weights.w,
    wOff = d.weights.wOff,
    bias = d.weights.bias,
    acc = d.scratch.int32[d.acc],
    y = g.y,
    inChannel = d.depthInChannel;
  let yBase = g.yOff;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl,
        xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      // Over the accumulator row, three taps per pass (a 3×3 window's row): the loops run over the channels
      // rather than over the few taps (9 for 3×3), which a tracing JIT needs and costs interpreters nothing. Taps
      // are read from the input (or the gathered patch) at their offsets plus each output channel's input
      // channel; a tap's weights are outC apart.
      if (!inside) gatherWindow(g, iy0, ix0, patch);
      const src = inside ? x : patch,
        tapAt = inside ? offsets : patchOffsets,
        x0 = inside ? xb : 0;
      for (let c = 0; c < outC; c++) acc[c] = bias[c];
      let wt = wOff,
        t = 0;
      for (; t + 2 < n; t += 3) {
        const xt = x0 + tapAt[t],
          xu = x0 + tapAt[t + 1],
          xv = x0 + tapAt[t + 2],
          wu = wt + outC,
          wv = wu + outC;
        for (let c = 0; c < outC; c++) {
          const i = inChannel[c];
          acc[c] += src[xt + i] * w[wt + c] + src[xu + i] * w[wu + c] + src[xv + i] * w[wv + c];
        }
        wt = wv + outC;
      }
      for (; t < n; t++) {
        const xt = x0 + tapAt[t];
        for (let c = 0; c < outC; c++) acc[c] += src[xt + inChannel[c]] * w[wt + c];
        wt += outC;
      }
      requantizeRow(rq, acc, outC, y, yBase);
      yBase += outC;
    }
  }
}

export const DEPTHWISE_CONV_2D: OpRegistration = { prepare: prepareDepthwiseConv2D, eval: evalDepthwiseConv2D };
