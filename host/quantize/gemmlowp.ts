// gemmlowp's fixed-point transcendental functions (fixedpoint/fixedpoint.h) on int32 raw values, as TFLite's
// int8 SOFTMAX, LOGISTIC and TANH kernels use them. A FixedPoint<int32, I> is its raw int32 here; the integer-bit
// count I is passed explicitly where the C++ carries it in the type. Host only: int32 bit operations are fine.

import { roundingDivideByPOT, saturatingRoundingDoublingHighMul } from './fixedpoint';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const mul = saturatingRoundingDoublingHighMul;
const add = (a: number, b: number): number => (a + b) | 0;

/** SaturatingRoundingMultiplyByPOT<exponent>: saturating left shift, or rounding right shift for exponent < 0. */
function saturatingRoundingMultiplyByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  if (exponent < 0) return roundingDivideByPOT(x, -exponent);
  const threshold = Math.pow(2, 31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * Math.pow(2, exponent);
}

/** Rescale<dst>(FixedPoint<src>). */
const rescale = (raw: number, srcIntegerBits: number, dstIntegerBits: number): number =>
  saturatingRoundingMultiplyByPOT(raw, srcIntegerBits - dstIntegerBits);

/** RoundingHalfSum for int32: (a + b + sign) / 2 in 64 bits, truncated. */
export function roundingHalfSum(a: number, b: number): number {
  const sum = a + b;
  return Math.trunc((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/** One() of FixedPoint<int32, integerBits>. */
const one = (integerBits: number): number => (integerBits === 0 ? INT32_MAX : Math.pow(2, 31 - integerBits));

/** exp(x) for x in [−1/4, 0), Q0.31 in and out. */
function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const constantTerm = 1895147668; // exp(−1/8)
  const constant1Over3 = 715827883;
  const x = add(a, 1 << 28);
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  const x4 = mul(x2, x2);
  const x4Over4 = saturatingRoundingMultiplyByPOT(x4, -2);
  const poly = saturatingRoundingMultiplyByPOT(add(mul(add(x4Over4, x3), constant1Over3), x2), -1);
  return add(constantTerm, mul(constantTerm, add(x, poly)));
}

const EXP_BARREL: ReadonlyArray<[exponent: number, multiplier: number]> = [
  [-2, 1672461947],
  [-1, 1302514674],
  [0, 790015084],
  [1, 290630308],
  [2, 39332535],
  [3, 720401],
  [4, 242],
];

/** exp_on_negative_values(FixedPoint<int32, integerBits>) → Q0.31 raw. */
export function expOnNegativeValues(a: number, integerBits: number): number {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = Math.pow(2, fractionalBits - 2);
  const aModQuarterMinusOneQuarter = ((a & (oneQuarter - 1)) - oneQuarter) | 0;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(rescale(aModQuarterMinusOneQuarter, integerBits, 0));
  const remainder = (aModQuarterMinusOneQuarter - a) | 0;
  for (const [exponent, multiplier] of EXP_BARREL) {
    if (integerBits > exponent && (remainder & (1 << (fractionalBits + exponent))) !== 0)
      result = mul(result, multiplier);
  }
  if (integerBits > 5 && a < -Math.pow(2, 36 - integerBits)) result = 0;
  return a === 0 ? INT32_MAX : result;
}

/** Three Newton–Raphson steps for 1 / half_denominator in Q2.29 (shared by the two divisions below). */
function newtonReciprocalQ2(halfDenominator: number): number {
  let x = add(1515870810, mul(halfDenominator, -1010580540)); // 48/17 − 32/17·d
  for (let i = 0; i < 3; i++) {
    const oneMinusHalfDenominatorTimesX = (one(2) - mul(halfDenominator, x)) | 0;
    x = add(x, rescale(mul(x, oneMinusHalfDenominatorTimesX), 4, 2));
  }
  return x;
}

/** 1 / (1 + x) for x in [0, 1), Q0.31 in and out. */
export function oneOverOnePlusX(a: number): number {
  return rescale(newtonReciprocalQ2(roundingHalfSum(a, INT32_MAX)), 1, 0);
}

/** (1 − x) / (1 + x) for x in [0, 1), Q0.31 in and out. */
export function oneMinusXOverOnePlusX(a: number): number {
  return rescale((newtonReciprocalQ2(roundingHalfSum(a, INT32_MAX)) - one(2)) | 0, 2, 0);
}

/** gemmlowp::logistic(FixedPoint<int32, integerBits>) → Q0.31 raw. */
export function logistic(a: number, integerBits: number): number {
  if (a === 0) return 1 << 30;
  const positive = oneOverOnePlusX(expOnNegativeValues(-Math.abs(a) | 0, integerBits));
  return a > 0 ? positive : (INT32_MAX - positive) | 0;
}

/** gemmlowp::tanh(FixedPoint<int32, integerBits>) → Q0.31 raw. */
export function tanh(a: number, integerBits: number): number {
  if (a === 0) return 0;
  const n = a < 0 ? a : -a | 0;
  // neg_tanh_on_negative_values: ExactMulByPot<1> reinterprets the raw value with one more integer bit.
  const t = oneMinusXOverOnePlusX(expOnNegativeValues(n, integerBits + 1));
  return a < 0 ? -t | 0 : t;
}

/** TFLite's GetReciprocal: 1/x for x in FixedPoint<int32, integerBits>, as a Q0.31 scale and a bit count. */
export function getReciprocal(x: number, integerBits: number): { reciprocal: number; numBitsOverUnit: number } {
  const headroomPlusOne = Math.clz32(x);
  const shiftedSumMinusOne = ((x << headroomPlusOne) - INT32_MIN) | 0;
  return { reciprocal: oneOverOnePlusX(shiftedSumMinusOne), numBitsOverUnit: integerBits - headroomPlusOne };
}

/** Saturating int32 addition (TFLite's SaturatingAddNonGemmlowp; SaturatingSub is this with −b). */
const saturatingAdd = (a: number, b: number): number => Math.min(INT32_MAX, Math.max(INT32_MIN, a + b));

/**
 * TFLite's log_x_for_x_greater_than_or_equal_to_1<outputIntegerBits>(FixedPoint<int32, inputIntegerBits>) → raw:
 * the power of two from the leading zeros (adjusted by ±1/4 around √½), then a Padé approximant of log on the
 * remaining factor in [√½, √2), accumulated with one extra integer bit.
 */
export function logXForXGreaterThanOrEqualTo1(x: number, inputIntegerBits: number, outputIntegerBits: number): number {
  const accumBits = outputIntegerBits + 1;
  const log2 = 1488522236;
  const sqrtSqrtHalf = 1805811301;
  const sqrtHalf = 1518500250;
  const alphaN = 117049297;
  const alphaD = 127690142;
  const alphaI = 1057819769;
  const alphaF = 638450708;
  const shiftedQuarter = rescale(536870912, 0, accumBits);
  const zAHeadroomPlus1 = Math.clz32(x);
  const rATmp = saturatingRoundingMultiplyByPOT(x, zAHeadroomPlus1 - 1);
  const rA = saturatingRoundingMultiplyByPOT(mul(rATmp, sqrtHalf), 1);
  const zAPow2Adj = saturatingAdd(
    saturatingRoundingMultiplyByPOT(inputIntegerBits - zAHeadroomPlus1, 31 - accumBits),
    shiftedQuarter,
  );
  const zBHeadroom = Math.clz32(mul(x, sqrtHalf)) - 1;
  const rB = saturatingRoundingMultiplyByPOT(x, zBHeadroom);
  const zBPow2Adj = saturatingAdd(
    saturatingRoundingMultiplyByPOT(inputIntegerBits - zBHeadroom, 31 - accumBits),
    -shiftedQuarter,
  );
  const r = Math.min(rA, rB);
  const zPow2Adj = Math.max(zAPow2Adj, zBPow2Adj);
  const p = roundingHalfSum(r, sqrtSqrtHalf);
  const q = add(r - sqrtSqrtHalf, r - sqrtSqrtHalf);
  const commonSq = mul(q, q);
  const num = add(mul(q, r), mul(mul(q, commonSq), alphaN));
  const denomMinusOne = add(mul(p, add(add(alphaI, q), mul(alphaD, commonSq))), mul(alphaF, q));
  const recipDenom = oneOverOnePlusX(denomMinusOne);
  const numScaled = rescale(num, 0, accumBits);
  return rescale(add(mul(zPow2Adj, log2), mul(numScaled, recipDenom)), accumBits, outputIntegerBits);
}
