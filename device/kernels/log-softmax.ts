// LOG_SOFTMAX (TFLM int8, reference_ops::LogSoftmaxQuantized) over rows of the last axis. The host tabulates, per
// d = max - x, the Q5.26 difference and its exp in Q12.19; per row the device sums the exps, takes gemmlowp's log
// of the sum in Q5.26 and writes (difference - log sum) in 1/16 units from zero point 127, or -128 at or below the
// adjusted diff_min. Same steps as host/interp/int8/log-softmax.ts, in doubles (no bitwise ops).

import { mbqm, roundingDivideByPOT, srdhm, TWO31, wrapInt32 } from '../fixedpoint';
import {
  LogSoftmaxOptions_diff_min,
  LogSoftmaxOptions_diff_q5,
  LogSoftmaxOptions_exp_q12,
  LogSoftmaxOptions_reverse_scaling_divisor,
  LogSoftmaxOptions_reverse_scaling_right_shift,
  Options_LogSoftmaxOptions,
} from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { INT32_MAX, leadingZeros32, oneOverOnePlusX, saturatingShiftLeft } from '../gemmlowp';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { type Buf, floor } from '../platform/api';

/** exp(0) in Q12.19: a row of 4095 such terms is the longest whose sum stays below 2^31. */
const EXP_ONE_Q12 = 524288;
const MAX_DEPTH = 4095;

interface LogSoftmaxData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  /** Rows of `depth` values (the last axis). */
  batches: number;
  depth: number;
  diffQ5: number[];
  expQ12: number[];
  reverseDivisor: number;
  reverseShift: number;
  diffMin: number;
  single: boolean;
}

function prepareLogSoftmax(ctx: OpContext): LogSoftmaxData {
  needOptions(ctx, Options_LogSoftmaxOptions);
  const xInfo = inputInfo(ctx, 0),
    count = outputInfo(ctx).count,
    depth = xInfo.shape[xInfo.shape.length - 1];
  if (xInfo.count !== count || !(depth >= 1 && depth <= MAX_DEPTH))
    badShape(ctx.index, 'log softmax rows of 1 to 4095 values, output as input');
  const diffQ5 = intVector(ctx.blob, ctx.options, LogSoftmaxOptions_diff_q5),
    expQ12 = intVector(ctx.blob, ctx.options, LogSoftmaxOptions_exp_q12),
    reverseDivisor = optI32(ctx, LogSoftmaxOptions_reverse_scaling_divisor, 0),
    reverseShift = optI32(ctx, LogSoftmaxOptions_reverse_scaling_right_shift, 0),
    diffMin = optI32(ctx, LogSoftmaxOptions_diff_min, 0);
  let ok =
    diffQ5.length === 256 &&
    expQ12.length === 256 &&
    reverseDivisor >= 0 &&
    reverseShift >= -1 &&
    reverseShift <= 31 &&
    diffMin <= 0;
  for (let d = 0; d < 256 && ok; d++) ok = expQ12[d] >= 0 && expQ12[d] <= EXP_ONE_Q12 && diffQ5[d] <= 0;
  if (!ok) badOptions(ctx.index, 'log softmax needs 256 differences <= 0 and exps 0..2^19, diff_min <= 0');
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  return {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    batches: count / depth,
    depth: depth,
    diffQ5: diffQ5,
    expQ12: expQ12,
    reverseDivisor: reverseDivisor,
    reverseShift: reverseShift,
    diffMin: diffMin,
    single: ctx.single,
  };
}

function evalLogSoftmax(p: LogSoftmaxData): void {
  let x = p.x,
    y = p.y,
    depth = p.depth,
    diffQ5 = p.diffQ5,
    expQ12 = p.expQ12,
    xo = p.xOff,
    yo = p.yOff;
  for (let r = 0; r < p.batches; r++) {
    let base = xo + r * depth,
      yBase = yo + r * depth;
    let max = -128;
    for (let c = 0; c < depth; c++) if (x[base + c] > max) max = x[base + c];
    let sum = 0;
    for (let k = 0; k < depth; k++) sum += expQ12[max - x[base + k]];
    let logSum = logQ12ToQ5(sum);
    // The smallest difference whose output is above -128: where difference - log sum would leave int32.
    let limit = mbqm(logSum - TWO31, p.reverseDivisor, -p.reverseShift, p.single);
    if (limit < p.diffMin - 1) limit = p.diffMin - 1;
    for (let j = 0; j < depth; j++) {
      let d = max - x[base + j];
      if (-d > limit) {
        let v = roundingDivideByPOT(diffQ5[d] - logSum, 22) + 127;
        y[yBase + j] = v > 127 ? 127 : v < -128 ? -128 : v;
      } else y[yBase + j] = -128;
    }
  }
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for exponent >= 0 (0: unchanged). */
function saturatingShiftLeftBy(x: number, exponent: number): number {
  return exponent === 0 ? x : saturatingShiftLeft(x, exponent);
}

/** int32 addition saturated at the int32 bounds (TFLite's SaturatingAddNonGemmlowp). */
function saturatingAdd(a: number, b: number): number {
  let s = a + b;
  return s > INT32_MAX ? INT32_MAX : s < -TWO31 ? -TWO31 : s;
}

/**
 * TFLite's log_x_for_x_greater_than_or_equal_to_1<5>(FixedPoint<int32, 12>) for a positive x (a LOG_SOFTMAX row's
 * Q12.19 sum of exps) → log x in Q5.26: as host/quantize/gemmlowp.ts logXForXGreaterThanOrEqualTo1 with
 * inputIntegerBits 12, outputIntegerBits 5 (accumulated in Q6.25).
 */
function logQ12ToQ5(x: number): number {
  let sqrtSqrtHalf = 1805811301,
    sqrtHalf = 1518500250,
    shiftedQuarter = 8388608;
  let zAHeadroomPlus1 = leadingZeros32(x);
  let rA = saturatingShiftLeft(srdhm(saturatingShiftLeftBy(x, zAHeadroomPlus1 - 1), sqrtHalf), 1);
  let zAPow2Adj = saturatingAdd(saturatingShiftLeft(12 - zAHeadroomPlus1, 25), shiftedQuarter);
  let zBHeadroom = leadingZeros32(srdhm(x, sqrtHalf)) - 1;
  let rB = saturatingShiftLeftBy(x, zBHeadroom);
  let zBPow2Adj = saturatingAdd(saturatingShiftLeft(12 - zBHeadroom, 25), -shiftedQuarter);
  let r = rA < rB ? rA : rB;
  let zPow2Adj = zAPow2Adj > zBPow2Adj ? zAPow2Adj : zBPow2Adj;
  let halfSum = r + sqrtSqrtHalf + 1;
  let p = halfSum >= 0 ? floor(halfSum / 2) : -floor(-halfSum / 2);
  let q = wrapInt32(2 * (r - sqrtSqrtHalf));
  let commonSq = srdhm(q, q);
  let num = wrapInt32(srdhm(q, r) + srdhm(srdhm(q, commonSq), 117049297));
  let denomMinusOne = wrapInt32(srdhm(p, wrapInt32(1057819769 + q + srdhm(127690142, commonSq))) + srdhm(638450708, q));
  let sum = wrapInt32(srdhm(zPow2Adj, 1488522236) + srdhm(roundingDivideByPOT(num, 6), oneOverOnePlusX(denomMinusOne)));
  return saturatingShiftLeft(sum, 1);
}

export const LOG_SOFTMAX: OpRegistration = { prepare: prepareLogSoftmax, eval: evalLogSoftmax };
