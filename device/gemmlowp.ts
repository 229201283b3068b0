// gemmlowp's fixed-point helpers (fixedpoint/fixedpoint.h) on int32 raw values in doubles (no bitwise ops, no
// Math.imul), shared by the SOFTMAX and LOG_SOFTMAX kernels; host/quantize/gemmlowp.ts is the host's int32 twin.

import { POW2, TWO30, TWO31, roundingDivideByPOT, srdhm, wrapInt32 } from './fixedpoint';
import { floor } from './platform/api';

const INT32_MAX = TWO31 - 1;

/** Math.clz32 of an int32 (0 for negatives, 32 for 0). */
export function leadingZeros32(x: number): number {
  if (x < 0) return 0;
  if (x === 0) return 32;
  let n = 1;
  for (let t = TWO30; x < t; t = t / 2) n++;
  return n;
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for exponent > 0: saturating left shift of an int32. */
function saturatingShiftLeft(x: number, exponent: number): number {
  let threshold = POW2[31 - exponent] - 1;
  return x > threshold ? INT32_MAX : x < -threshold ? -TWO31 : x * POW2[exponent];
}

/** gemmlowp one_over_one_plus_x_for_x_in_0_1: three Newton-Raphson steps on half the denominator in Q2.29. */
export function oneOverOnePlusX(a: number): number {
  let halfSum = a + INT32_MAX;
  halfSum = (halfSum + (halfSum >= 0 ? 1 : -1)) / 2;
  let halfDenominator = halfSum >= 0 ? floor(halfSum) : -floor(-halfSum);
  let x = wrapInt32(1515870810 + srdhm(halfDenominator, -1010580540));
  for (let i = 0; i < 3; i++) {
    let oneMinusHalfDenominatorTimesX = wrapInt32(TWO30 / 2 - srdhm(halfDenominator, x));
    x = wrapInt32(x + saturatingShiftLeft(srdhm(x, oneMinusHalfDenominatorTimesX), 2));
  }
  return saturatingShiftLeft(x, 1);
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
export function logQ12ToQ5(x: number): number {
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
