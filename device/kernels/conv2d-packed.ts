// CONV_2D with packed or sparse weights (kernels/packed-weights.ts): output channel by output channel, each
// pixel sums over the channel's nonzero taps only. Taps outside the input read the input zero point, as in conv2d.

import { requantize } from '../fixedpoint';
import type { OpContext, OpRegistration } from '../op';
import { type Conv2DData, evalConv2D, prepareConv2DWith } from './conv2d';
import { packedInput, packedNext, packedReset, packedRestart, packedRow, packedRowDot } from './packed-weights';

function conv2dPacked(d: Conv2DData): void {
  let p = d.g,
    w = d.weights.packed!,
    x = p.x,
    y = p.y,
    bias = d.weights.bias;
  let inH = p.inH,
    inW = p.inW,
    inC = p.inC,
    outH = p.outH,
    outW = p.outW,
    outC = p.outC,
    taps = p.kW * inC;
  let sh = p.strideH,
    sw = p.strideW,
    dh = p.dilH,
    dw = p.dilW,
    pt = p.padTop,
    pl = p.padLeft,
    zp = p.inZp;
  let xo = p.xOff,
    yo = p.yOff,
    lastX = (p.kW - 1) * dw;
  // A one-row window without gaps (1×1, or 1×k undilated: every pointwise conv) reads its taps contiguously, as
  // FULLY_CONNECTED does: a pixel inside the input takes packedRowDot's inlined walk, no call or division per tap.
  let contiguous = p.kH === 1 && (p.kW === 1 || dw === 1);
  packedReset(w);
  for (let oc = 0; oc < outC; oc++) {
    packedRow(w, oc);
    for (let oy = 0; oy < outH; oy++) {
      let iy0 = oy * sh - pt;
      let rowInside = contiguous && iy0 >= 0 && iy0 < inH;
      for (let ox = 0; ox < outW; ox++) {
        let ix0 = ox * sw - pl;
        let acc = bias[oc];
        if (rowInside && ix0 >= 0 && ix0 + lastX < inW) {
          y[yo + (oy * outW + ox) * outC + oc] = requantize(
            acc + packedRowDot(w, x, xo + (iy0 * inW + ix0) * inC),
            d.rq,
            oc,
          );
          continue;
        }
        packedRestart(w);
        // Tap k's window row ky and column kx, advanced as k grows (a row's nonzeros come in order): a step per
        // window row or column passed, where two divisions per nonzero would cost an ES5 interpreter two calls.
        let ky = 0,
          kx = 0,
          rowAt = 0,
          colAt = 0;
        for (let k = packedNext(w); k >= 0; k = packedNext(w)) {
          while (k >= rowAt + taps) {
            ky++;
            rowAt += taps;
            kx = 0;
            colAt = rowAt;
          }
          while (k >= colAt + inC) {
            kx++;
            colAt += inC;
          }
          let iy = iy0 + ky * dh,
            ix = ix0 + kx * dw;
          acc +=
            (iy >= 0 && iy < inH && ix >= 0 && ix < inW ? x[xo + (iy * inW + ix) * inC + k - colAt] : zp) * w.value;
        }
        y[yo + (oy * outW + ox) * outC + oc] = requantize(acc, d.rq, oc);
      }
    }
  }
}

function prepareConv2DPacked(ctx: OpContext): Conv2DData {
  return prepareConv2DWith(ctx, packedInput(ctx, 1));
}

function evalConv2DPacked(d: Conv2DData): void {
  if (d.weights.packed !== null) conv2dPacked(d);
  else evalConv2D(d);
}

/** CONV_2D over dense, packed or sparse weights. */
export const CONV_2D_PACKED: OpRegistration = {
  prepare: prepareConv2DPacked,
  eval: evalConv2DPacked,
  packedWeights: true,
};
