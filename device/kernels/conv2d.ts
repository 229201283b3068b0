// CONV_2D. A pixel whose window crosses the input's border has its window gathered, input zero point included,
// into the op's patch (gatherWindow), so the bounds are checked once per tap and pixel, and every pixel takes the
// same inner loops. Everything an output pixel needs is read off the op once, here: a property read costs an
// interpreter as much as several multiply-adds (Duktape: ~100 ns).

import { type Requant, readRequant, requantizeRow } from '../fixedpoint';
import {
  Conv2DOptions_activation_max,
  Conv2DOptions_activation_min,
  Conv2DOptions_output_multiplier,
  Conv2DOptions_output_shift,
  Conv2DOptions_output_zero_point,
} from '../format/layout';
import { badShape } from '../format/reader';
import { DOT_NONE } from '../native-dot';
import { inputInfo, type OpContext, type OpRegistration, requestScratch8, requestScratch32, type Scratch } from '../op';
import type { Buf } from '../platform/api';
import { type ConvGeometry, gatherWindow, readConvGeometry, tapOffsets } from './conv';
import { checkAccumulators, type DenseWeights, denseDots, dotRows, readDenseWeights, useNativeDot } from './dense';
import type { PackedWeights } from './packed-weights';

export interface Conv2DData {
  g: ConvGeometry;
  weights: DenseWeights;
  rq: Requant;
  /** kH·kW·inC: one output channel's weights, in the order of tapOffsets (the taps' input offsets). */
  taps: number;
  tapOffsets: Buf;
  /** Scratch indices: two pixels' gathered windows (int8), their accumulator rows (int32). */
  scratch: Scratch;
  patch: number;
  pairPatch: number;
  acc: number;
  pairAcc: number;
}

/** CONV_2D's prepare, its weights `packed` when stored so (kernels/conv2d-packed.ts). */
export function prepareConv2DWith(ctx: OpContext, packed: PackedWeights | null): Conv2DData {
  const weights = readDenseWeights(ctx, packed);
  const g = readConvGeometry(ctx),
    ws = inputInfo(ctx, 1).shape;
  if (ws[0] !== g.outC || ws[3] !== g.inC || inputInfo(ctx, 2).count !== g.outC)
    badShape(ctx.index, 'conv weight shape');
  const taps = g.kH * g.kW * g.inC,
    dense = weights.packed === null;
  checkAccumulators(ctx, weights, g.outC, taps, taps, 1);
  const d: Conv2DData = {
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
    tapOffsets: tapOffsets(g, g.inC, g.dilH * g.inW * g.inC, g.dilW * g.inC),
    scratch: ctx.scratch,
    patch: dense ? requestScratch8(ctx, taps) : 0,
    pairPatch: dense ? requestScratch8(ctx, taps) : 0,
    acc: dense ? requestScratch32(ctx, g.outC) : 0,
    pairAcc: dense ? requestScratch32(ctx, g.outC) : 0,
  };
  // The native paths take an output channel's weights whole, against the gathered patch.
  if (ctx.dot !== DOT_NONE && dense) useNativeDot(weights, ctx.dot, taps, g.outC, g.x, g.xOff, 0, 0);
  return d;
}

function prepareConv2D(ctx: OpContext): Conv2DData {
  return prepareConv2DWith(ctx, null);
}

export function evalConv2D(d: Conv2DData): void {
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
  const weights = d.weights,
    rq = d.rq,
    patch = d.scratch.int8[d.patch],
    pairPatch = d.scratch.int8[d.pairPatch],
    offsets = d.tapOffsets,
    n = d.taps;
  const w = weights.w,
    wOff = weights.wOff,
    bias = weights.bias,
    acc = d.scratch.int32[d.acc],
    pairAcc = d.scratch.int32[d.pairAcc],
    y = g.y,
    pairs = weights.dot === DOT_NONE;
  let yBase = g.yOff,
    waiting = -1; // where the output of the pixel whose window waits in patch goes, or -1
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl,
        xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      // Every output channel is one contiguous dot product over the gathered window. Windows go two at a time
      // (the second into pairPatch), so that each weight read serves two pixels (dotRowsPair).
      const into = waiting < 0 ? patch : pairPatch;
      if (inside) for (let t = 0; t < n; t++) into[t] = x[xb + offsets[t]];
      else gatherWindow(g, iy0, ix0, into);
      if (waiting < 0) waiting = yBase;
      else {
        if (pairs) dotRowsPair(w, wOff, n, patch, pairPatch, bias, acc, pairAcc, outC);
        else {
          denseDots(weights, n, outC, patch, 0, patch, acc);
          denseDots(weights, n, outC, pairPatch, 0, pairPatch, pairAcc);
        }
        requantizeRow(rq, acc, outC, y, waiting);
        requantizeRow(rq, pairAcc, outC, y, yBase);
        waiting = -1;
      }
      yBase += outC;
    }
  }
  if (waiting >= 0) {
    denseDots(weights, n, outC, patch, 0, patch, acc);
    requantizeRow(rq, acc, outC, y, waiting);
  }
}

/**
 * dotRows over two windows at once (x, z: each n taps from 0) into acc and acc2, for rows 0 to `to`: four rows per
 * pass, each weight read once for both windows, the eight sums in locals (a 2×4 register block, as GEMM kernels
 * do); the last to % 4 rows by dotRows. An interpreter's cost is its reads and index arithmetic: here 6 reads and
 * 4 index additions per 8 multiply-adds, against 5 and 4 per 4 in dotRows.
 */
function dotRowsPair(
  w: Buf,
  wOff: number,
  n: number,
  x: Buf,
  z: Buf,
  bias: Buf,
  acc: Buf,
  acc2: Buf,
  to: number,
): void {
  let o = 0;
  for (; o + 3 < to; o += 4) {
    const d0 = wOff + o * n,
      d1 = d0 + n,
      d2 = d1 + n,
      d3 = d2 + n;
    let a0 = bias[o],
      a1 = bias[o + 1],
      a2 = bias[o + 2],
      a3 = bias[o + 3],
      b0 = a0,
      b1 = a1,
      b2 = a2,
      b3 = a3;
    for (let k = 0; k < n; k++) {
      const xk = x[k],
        zk = z[k],
        w0 = w[d0 + k],
        w1 = w[d1 + k],
        w2 = w[d2 + k],
        w3 = w[d3 + k];
      a0 += xk * w0;
      a1 += xk * w1;
      a2 += xk * w2;
      a3 += xk * w3;
      b0 += zk * w0;
      b1 += zk * w1;
      b2 += zk * w2;
      b3 += zk * w3;
    }
    acc[o] = a0;
    acc[o + 1] = a1;
    acc[o + 2] = a2;
    acc[o + 3] = a3;
    acc2[o] = b0;
    acc2[o + 1] = b1;
    acc2[o + 2] = b2;
    acc2[o + 3] = b3;
  }
  dotRows(w, wOff, n, x, 0, bias, acc, o, to);
  dotRows(w, wOff, n, z, 0, bias, acc2, o, to);
}

/** Dense weights only: the registry's CONV_2D_PACKED takes packed or sparse ones too. */
export const CONV_2D: OpRegistration = { prepare: prepareConv2D, eval: evalConv2D };
