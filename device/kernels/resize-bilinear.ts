// RESIZE_BILINEAR: TFLite's int8 bilinear resize (reference_ops::ResizeBilinearInteger) of an NHWC map. Each output
// row's two source rows and 10-bit weight (and each column's) are computed on the host as TFLM computes them per
// inference; the blob holds them and prepare turns the indices into offsets, so an inference only blends. Input and
// output share their quantization, as TFLite requires.

import {
  Options_ResizeBilinearOptions,
  ResizeBilinearOptions_cols,
  ResizeBilinearOptions_rows,
} from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needInputs, needOptions, type OpContext, type OpRegistration, outputInfo } from '../op';
import { type Buf, floor, newInt32 } from '../platform/api';

interface ResizeBilinearData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  channels: number;
  /** Per output row: the input offsets of its two source rows and the second one's weight (of 1024); cols alike. */
  rows: Buf;
  cols: Buf;
  outH: number;
  outW: number;
  single: boolean;
}

/** The (lo, hi, weight) triples of `n` outputs along an axis of `size` inputs, lo and hi scaled by `step`. */
function taps(ctx: OpContext, v: number[], n: number, size: number, step: number): Buf {
  if (v.length !== 3 * n) badOptions(ctx.index, 'resize taps do not match the output');
  const t = newInt32(3 * n);
  for (let i = 0; i < 3 * n; i += 3) {
    if (!(v[i] >= 0 && v[i] < size && v[i + 1] >= 0 && v[i + 1] < size && v[i + 2] >= -1024 && v[i + 2] <= 2048))
      badOptions(ctx.index, 'resize tap ' + v[i] + ', ' + v[i + 1] + ', ' + v[i + 2]);
    t[i] = v[i] * step;
    t[i + 1] = v[i + 1] * step;
    t[i + 2] = v[i + 2];
  }
  return t;
}

function prepareResizeBilinear(ctx: OpContext): ResizeBilinearData {
  needOptions(ctx, Options_ResizeBilinearOptions);
  needInputs(ctx, 1, 'one input');
  const xs = inputInfo(ctx, 0).shape,
    ys = outputInfo(ctx).shape,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  if (xs.length !== 4 || ys.length !== 4 || xs[0] !== 1 || ys[0] !== 1 || xs[3] !== ys[3])
    badShape(ctx.index, 'resize needs [1,h,w,c] to [1,oh,ow,c]');
  return {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    channels: xs[3],
    rows: taps(ctx, intVector(ctx.blob, ctx.options, ResizeBilinearOptions_rows), ys[1], xs[1], xs[2] * xs[3]),
    cols: taps(ctx, intVector(ctx.blob, ctx.options, ResizeBilinearOptions_cols), ys[2], xs[2], xs[3]),
    outH: ys[1],
    outW: ys[2],
    single: ctx.single,
  };
}

function evalResizeBilinear(p: ResizeBilinearData): void {
  const x = p.x,
    y = p.y,
    C = p.channels,
    rows = p.rows,
    cols = p.cols,
    oh = p.outH,
    ow = p.outW,
    single = p.single,
    half = 524288,
    one = 1048576;
  let yo = p.yOff;
  for (let i = 0; i < 3 * oh; i += 3) {
    const r0 = p.xOff + rows[i],
      r1 = p.xOff + rows[i + 1],
      wy = rows[i + 2],
      wy0 = 1024 - wy;
    for (let j = 0; j < 3 * ow; j += 3) {
      const a = r0 + cols[j],
        b = r1 + cols[j],
        c = r0 + cols[j + 1],
        d = r1 + cols[j + 1],
        wx = cols[j + 2],
        wx0 = 1024 - wx;
      for (let k = 0; k < C; k++) {
        // |v| < 2^27 · 4: exact in a double on every engine.
        const v = (x[a + k] * wy0 + x[b + k] * wy) * wx0 + (x[c + k] * wy0 + x[d + k] * wy) * wx;
        // 0 − …: a −0 would print as such on some engines.
        y[yo + k] = single || v > 0 ? floor((v + half) / one) : 0 - floor((half - v) / one);
      }
      yo += C;
    }
  }
}

export const RESIZE_BILINEAR: OpRegistration = { prepare: prepareResizeBilinear, eval: evalResizeBilinear };
