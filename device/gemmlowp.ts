// gemmlowp's fixed-point helpers (fixedpoint/fixedpoint.h) on int32 raw values in doubles (no bitwise ops, no
// Math.imul), shared by the SOFTMAX and LOG_SOFTMAX kernels (LOG_SOFTMAX's log is in its own kernel file, so that
// bundles without it, Lua's included, do not carry it); host/quantize/gemmlowp.ts is the host's int32 twin.

import { POW2, TWO30, TWO31, srdhm, wrapInt32 } from './fixedpoint';
import { floor } from './platform/api';

export const INT32_MAX = TWO31 - 1;

/** Math.clz32 of an int32 (0 for negatives, 32 for 0). */
export function leadingZeros32(x: number): number {
  if (x < 0) return 0;
  if (x === 0) return 32;
  let n = 1;
  for (let t = TWO30; x < t; t = t / 2) n++;
  return n;
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for exponent > 0: saturating left shift of an int32. */
export function saturatingShiftLeft(x: number, exponent: number): number {
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
