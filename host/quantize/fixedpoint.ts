// TFLite's fixed-point requantization, exact with IEEE doubles only (no BigInt, no 64-bit ints), so
// the same formulas work in every device engine. Cross-checked against a BigInt transcription of
// TFLite's C++ in test/fixedpoint.test.ts.

import { type OpCodeName, TFLITE_DOUBLE_ROUNDING_OPCODES } from '../ir/contract';

/** How one kernel requantizes: TFLite Micro's double rounding, or full TFLite's TFLITE_SINGLE_ROUNDING. */
export type Rounding = 'double' | 'single';

/**
 * A model's rounding mode (recorded in the blob): 'double' (TFLite Micro) and 'single' (TFLITE_SINGLE_ROUNDING in
 * every kernel) apply to every op; 'tflite' reproduces full TFLite's int8 kernels, which are built with
 * TFLITE_SINGLE_ROUNDING but keep gemmlowp's double rounding in the ops of TFLITE_DOUBLE_ROUNDING_OPS.
 */
export type RoundingMode = Rounding | 'tflite';
export const ROUNDING_MODES: readonly RoundingMode[] = ['double', 'single', 'tflite'];

/** A Morsel opcode, or TFLite's RELU/RELU6, whose rounding is baked into the QUANTIZE table Morsel runs them as. */
type RoundedKernel = OpCodeName | 'RELU';

/**
 * Full TFLite's int8 kernels that requantize with double rounding although the library is built with
 * TFLITE_SINGLE_ROUNDING (measured against its WebAssembly build in test/tflite.test.ts): the opcodes with the
 * schema's tflite_double_rounding attribute (the device reads the same list from its generated layout), and RELU.
 */
export const TFLITE_DOUBLE_ROUNDING_OPS: readonly RoundedKernel[] = [...TFLITE_DOUBLE_ROUNDING_OPCODES, 'RELU'];

/** The rounding of one op's kernel in a model of the given mode. */
export function kernelRounding(mode: RoundingMode, opcode: RoundedKernel): Rounding {
  return mode === 'tflite' ? (TFLITE_DOUBLE_ROUNDING_OPS.includes(opcode) ? 'double' : 'single') : mode;
}

/** The rounding TFLite's Prepare is built for (QuantizeMultiplier, softmax scaling): one per library, not per op. */
export function prepareRounding(mode: RoundingMode): Rounding {
  return mode === 'double' ? 'double' : 'single';
}

const TWO16 = 65536;
const TWO30 = 1073741824;
const TWO31 = 2147483648;
const INT32_MIN = -TWO31;
const INT32_MAX = TWO31 - 1;

/** Wraps to int32 like a C int32 operation that overflowed. */
export function wrapInt32(x: number): number {
  return x | 0;
}

/**
 * floor((a·b + c) / 2^k) exactly, for |a|,|b| ≤ 2^31, 0 ≤ c < 2^62 and k ≥ 16: b and c are split into
 * 16-bit halves so that every partial sum stays an exact integer below 2^53.
 */
export function floorMulDivPow2(a: number, b: number, c: number, k: number): number {
  const bl = b - Math.floor(b / TWO16) * TWO16;
  const cl = c - Math.floor(c / TWO16) * TWO16;
  const v = a * ((b - bl) / TWO16) + (c - cl) / TWO16 + Math.floor((a * bl + cl) / TWO16);
  return Math.floor(v / Math.pow(2, k - 16));
}

/** gemmlowp SaturatingRoundingDoublingHighMul for int32 a, b. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  // C's truncating (ab + nudge) / 2^31 with nudge = ab ≥ 0 ? 2^30 : 1 − 2^30 equals floor((ab + 2^30) / 2^31).
  return floorMulDivPow2(a, b, TWO30, 31);
}

/** gemmlowp RoundingDivideByPOT: divide by 2^exponent, rounding half away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const p = Math.pow(2, exponent);
  const q = Math.floor(x / p);
  const remainder = x - q * p;
  const threshold = p / 2 - 1 + (x < 0 ? 1 : 0);
  return q + (remainder > threshold ? 1 : 0);
}

/** TFLite MultiplyByQuantizedMultiplier: x · multiplier · 2^(shift−31), in either rounding mode. */
export function multiplyByQuantizedMultiplier(
  x: number,
  multiplier: number,
  shift: number,
  rounding: Rounding,
): number {
  if (rounding === 'single') {
    const totalShift = 31 - shift;
    const round = Math.pow(2, totalShift - 1);
    // For totalShift < 16 the int32 result TFLite requires implies |x·m| < 2^46: exact in a double.
    if (totalShift < 16) return Math.floor((x * multiplier + round) / Math.pow(2, totalShift));
    return floorMulDivPow2(x, multiplier, round, totalShift);
  }
  const leftShift = shift > 0 ? shift : 0;
  const rightShift = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(
    saturatingRoundingDoublingHighMul(wrapInt32(x * Math.pow(2, leftShift)), multiplier),
    rightShift,
  );
}

/** std::frexp for finite x > 0: x = fraction · 2^exponent with fraction in [0.5, 1). */
export function frexp(x: number): { fraction: number; exponent: number } {
  let exponent = Math.ceil(Math.log2(x)) || 0; // ceil of a log in (−1, 0) is −0
  let fraction = x / Math.pow(2, exponent);
  while (fraction >= 1) {
    fraction /= 2;
    exponent++;
  }
  while (fraction < 0.5) {
    fraction *= 2;
    exponent--;
  }
  return { fraction, exponent };
}

export interface QuantizedMultiplier {
  multiplier: number;
  shift: number;
}

/** TFLite QuantizeMultiplier: real ≈ multiplier · 2^(shift−31), multiplier in [2^30, 2^31). */
export function quantizeMultiplier(real: number, rounding: Rounding = 'double'): QuantizedMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  if (!(real > 0) || !Number.isFinite(real)) throw new RangeError(`cannot quantize multiplier ${real}`);
  const { fraction, exponent } = frexp(real);
  let multiplier = Math.round(fraction * TWO31); // fraction > 0, so Math.round equals C's round-half-away
  let shift = exponent;
  if (multiplier === TWO31) {
    multiplier /= 2;
    shift++;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  if (shift > 30) {
    if (rounding === 'single') return { multiplier: INT32_MAX, shift: 30 };
    throw new RangeError(`multiplier ${real} is too large for int32 requantization`);
  }
  return { multiplier, shift };
}

/** Rounds to the nearest float32, as TFLite stores scales. */
export const f32 = Math.fround;

export function clampInt(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
