// MEAN over the H·W positions of an NHWC tensor (TFLite's int8 Mean): requantize the zero-centred sum, then
// divide by the count rounding half away from zero.

import { mbqm } from '../fixedpoint';
import {
  MeanOptions_input_zero_point,
  MeanOptions_multiplier,
  MeanOptions_output_zero_point,
  MeanOptions_shift,
  Options_MeanOptions,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { type Buf, floor } from '../platform/api';

interface MeanData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  /** Channels, and the H·W positions each averages. */
  channels: number;
  positions: number;
  inZp: number;
  outZp: number;
  mult: number;
  shift: number;
  single: boolean;
}

function prepareMean(ctx: OpContext): MeanData {
  needOptions(ctx, Options_MeanOptions);
  const xs = inputInfo(ctx, 0).shape;
  if (xs.length !== 4 || xs[0] !== 1 || outputInfo(ctx).count !== xs[3]) badShape(ctx.index, 'mean shapes');
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  const p: MeanData = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    channels: xs[3],
    positions: xs[1] * xs[2],
    inZp: optI32(ctx, MeanOptions_input_zero_point, 0),
    outZp: optI32(ctx, MeanOptions_output_zero_point, 0),
    mult: optI32(ctx, MeanOptions_multiplier, 0),
    shift: optI32(ctx, MeanOptions_shift, 0),
    single: ctx.single,
  };
  if (!(p.shift >= -31 && p.shift <= 30 && p.mult >= 0 && p.inZp >= -128 && p.inZp <= 127))
    badOptions(ctx.index, 'mean parameters');
  return p;
}

function evalMean(p: MeanData): void {
  const x = p.x,
    y = p.y,
    C = p.channels,
    n = p.positions,
    half = floor(n / 2),
    xo = p.xOff,
    yo = p.yOff;
  for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += x[xo + i * C + c] - p.inZp;
    acc = mbqm(acc, p.mult, p.shift, p.single);
    acc = (acc > 0 ? floor((acc + half) / n) : -floor((half - acc) / n)) + p.outZp;
    y[yo + c] = acc < -128 ? -128 : acc > 127 ? 127 : acc;
  }
}

export const MEAN: OpRegistration = { prepare: prepareMean, eval: evalMean };
