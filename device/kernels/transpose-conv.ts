// TRANSPOSE_CONV (ONNX ConvTranspose, Keras Conv2DTranspose), computed in gather form: output (oy, ox) sums the taps
// (ky, kx) whose input row iy = (oy + pad_top − ky·dilation_h) / stride_h and column divide exactly and lie inside;
// every other tap reads the input zero point, which the folded bias (bias − zp_in·Σw) cancels. So each output is
// TFLM's Σ(x − zp_in)·w + bias over the input pixels that scatter into it, with no int32 output buffer. Which input
// row (and column) each output row's tap reads is worked out once here, so an inference does no division.

import { type Requant, readRequant, requantizeRow } from '../fixedpoint';
import {
  Conv2DOptions_activation_max,
  Conv2DOptions_activation_min,
  Conv2DOptions_output_multiplier,
  Conv2DOptions_output_shift,
  Conv2DOptions_output_zero_point,
} from '../format/layout';
import { badShape } from '../format/reader';
import { inputInfo, type OpContext, type OpRegistration, requestScratch8, requestScratch32, type Scratch } from '../op';
import { type Buf, floor, newInt32 } from '../platform/api';
import { type ConvGeometry, readConvGeometry } from './conv';
import { checkAccumulators, type DenseWeights, dotRows, readDenseWeights } from './dense';

interface TransposeConvData {
  g: ConvGeometry;
  weights: DenseWeights;
  rq: Requant;
  /** kH·kW·inC: one output channel's weights. */
  taps: number;
  /** rowAt[oy·kH + ky]: the input offset of the row tap ky of output row oy reads, or −1; colAt alike per column. */
  rowAt: Buf;
  colAt: Buf;
  /** Scratch indices: the gathered taps (int8), the accumulator row (int32). */
  scratch: Scratch;
  patch: number;
  acc: number;
}

/** For each of `outs` outputs and `k` taps along an axis: the input index times `step` it reads, or −1 for none. */
function sourceOffsets(outs: number, k: number, size: number, stride: number, dil: number, pad: number, step: number) {
  const at = newInt32(outs * k);
  for (let o = 0; o < outs; o++) {
    for (let t = 0; t < k; t++) {
      const u = o + pad - t * dil,
        i = floor(u / stride);
      at[o * k + t] = u >= 0 && i * stride === u && i < size ? i * step : -1;
    }
  }
  return at;
}

function prepareTransposeConv(ctx: OpContext): TransposeConvData {
  const weights = readDenseWeights(ctx, null);
  const g = readConvGeometry(ctx),
    ws = inputInfo(ctx, 1).shape;
  if (ws[0] !== g.outC || ws[3] !== g.inC || inputInfo(ctx, 2).count !== g.outC)
    badShape(ctx.index, 'transpose conv weight shape');
  const taps = g.kH * g.kW * g.inC;
  checkAccumulators(ctx, weights, g.outC, taps, taps, 1);
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
    rowAt: sourceOffsets(g.outH, g.kH, g.inH, g.strideH, g.dilH, g.padTop, g.inW * g.inC),
    colAt: sourceOffsets(g.outW, g.kW, g.inW, g.strideW, g.dilW, g.padLeft, g.inC),
    scratch: ctx.scratch,
    patch: requestScratch8(ctx, taps),
    acc: requestScratch32(ctx, g.outC),
  };
}

function evalTransposeConv(d: TransposeConvData): void {
  const g = d.g,
    x = g.x,
    xo = g.xOff,
    inC = g.inC,
    outH = g.outH,
    outW = g.outW,
    outC = g.outC,
    kH = g.kH,
    kW = g.kW,
    zp = g.inZp,
    y = g.y;
  const weights = d.weights,
    w = weights.w,
    wOff = weights.wOff,
    bias = weights.bias,
    rq = d.rq,
    n = d.taps,
    rowAt = d.rowAt,
    colAt = d.colAt,
    patch = d.scratch.int8[d.patch],
    acc = d.scratch.int32[d.acc];
  let yBase = g.yOff;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let t = 0;
      for (let ky = 0; ky < kH; ky++) {
        const r = rowAt[oy * kH + ky];
        for (let kx = 0; kx < kW; kx++) {
          const c = colAt[ox * kW + kx];
          if (r >= 0 && c >= 0) {
            const src = xo + r + c;
            for (let ic = 0; ic < inC; ic++) patch[t + ic] = x[src + ic];
          } else for (let ic = 0; ic < inC; ic++) patch[t + ic] = zp;
          t += inC;
        }
      }
      dotRows(w, wOff, n, patch, 0, bias, acc, 0, outC);
      requantizeRow(rq, acc, outC, y, yBase);
      yBase += outC;
    }
  }
}

export const TRANSPOSE_CONV: OpRegistration = { prepare: prepareTransposeConv, eval: evalTransposeConv };
