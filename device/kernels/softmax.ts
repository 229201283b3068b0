// SOFTMAX (TFLite int8, reference_ops::Softmax) over rows of the last axis, with the host's exp table: sum the
// exps in Q12.19, take gemmlowp's reciprocal, scale each exp to 1/256 units, shift to zero point -128.
// Same steps as host/interp/int8/softmax.ts and host/quantize/gemmlowp.ts, in doubles (no bitwise ops).

import { POW2, TWO31, roundingDivideByPOT, srdhm, wrapInt32 } from '../fixedpoint';
import { leadingZeros32, oneOverOnePlusX } from '../gemmlowp';
import { Options_SoftmaxOptions, SoftmaxOptions_exp_table } from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, outputInfo } from '../op';
import type { Buf } from '../platform/api';

const SOFTMAX_ACCUMULATION_BITS = 12;

interface SoftmaxData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  /** Rows of `depth` values (the last axis). */
  batches: number;
  depth: number;
  /** exp(-d·β·scale) in Q0.31 for d = max - x, and the same rescaled to the accumulator's Q12.19. */
  table: number[];
  expSum: number[];
}

function prepareSoftmax(ctx: OpContext): SoftmaxData {
  needOptions(ctx, Options_SoftmaxOptions);
  const xInfo = inputInfo(ctx, 0),
    count = outputInfo(ctx).count;
  if (xInfo.count !== count) badShape(ctx.index, 'softmax output and input sizes differ');
  const table = intVector(ctx.blob, ctx.options, SoftmaxOptions_exp_table);
  let ok = table.length === 256;
  // Each exp rescaled to the accumulator's Q12.19, once here rather than per element.
  const expSum: number[] = [];
  for (let d = 0; d < 256 && ok; d++) {
    ok = table[d] >= 0;
    expSum.push(roundingDivideByPOT(table[d], SOFTMAX_ACCUMULATION_BITS));
  }
  if (!ok) badOptions(ctx.index, 'softmax exp table needs 256 entries >= 0');
  const depth = xInfo.shape[xInfo.shape.length - 1],
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  return {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    batches: count / depth,
    depth: depth,
    table: table,
    expSum: expSum,
  };
}

function evalSoftmax(p: SoftmaxData): void {
  let x = p.x,
    y = p.y,
    depth = p.depth,
    table = p.table,
    expSum = p.expSum,
    xo = p.xOff,
    yo = p.yOff;
  for (let r = 0; r < p.batches; r++) {
    let base = xo + r * depth,
      yBase = yo + r * depth;
    let max = -128;
    for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
    let sum = 0;
    for (let k = 0; k < depth; k++) sum += expSum[max - x[base + k]];
    // TFLite's GetReciprocal of the int32 sum: normalise to [1, 2), 1/x in Q0.31, and the bits above one.
    sum = wrapInt32(sum);
    let headroomPlusOne = leadingZeros32(sum);
    let shiftedSumMinusOne = wrapInt32(wrapInt32(sum * POW2[headroomPlusOne]) + TWO31);
    let reciprocal = oneOverOnePlusX(shiftedSumMinusOne);
    let exponent = SOFTMAX_ACCUMULATION_BITS - headroomPlusOne + 31 - 8;
    for (let j = 0; j < depth; j++) {
      let v = roundingDivideByPOT(srdhm(reciprocal, table[max - x[base + j]]), exponent) - 128;
      y[yBase + j] = v > 127 ? 127 : v < -128 ? -128 : v;
    }
  }
}

export const SOFTMAX: OpRegistration = { prepare: prepareSoftmax, eval: evalSoftmax };
