// TFLite requantization with doubles only (no bitwise ops, no Math.imul, no BigInt): the same split-product
// formulas as host/quantize/fixedpoint.ts, which a test checks against BigInt.

import { badOptions, fieldVector } from './format/reader';
import { checkBounds, type OpContext, optI32 } from './op';
import { type Buf, floor, int32Span, newFloat64 } from './platform/api';

const TWO16 = 65536;
const TWO22 = 4194304;
export const TWO30 = 1073741824;
export const TWO31 = 2147483648;
const TWO51 = 2251799813685248;
/** 1.5·2^52: z + ROUNDER - ROUNDER rounds z to the nearest integer, for |z| < 2^51. */
const ROUNDER = 6755399441055744;
function powersOfTwo(): number[] {
  const p: number[] = [];
  for (let i = 0; i <= 64; i++) p.push(Math.pow(2, i));
  return p;
}
export const POW2 = powersOfTwo();

/** floor((a·b + c) / 2^k), exact for |a|,|b| ≤ 2^31, 0 ≤ c < 2^62, k ≥ 16. */
function floorMulDivPow2(a: number, b: number, c: number, k: number): number {
  const bl = b - floor(b / TWO16) * TWO16;
  const cl = c - floor(c / TWO16) * TWO16;
  const v = a * ((b - bl) / TWO16) + (c - cl) / TWO16 + floor((a * bl + cl) / TWO16);
  return floor(v / POW2[k - 16]);
}

export function wrapInt32(x: number): number {
  const r = x - floor(x / 4294967296) * 4294967296;
  return r >= TWO31 ? r - 4294967296 : r;
}

/** MultiplyByQuantizedMultiplier; single = full TFLite's single rounding, else TFLM's double rounding. */
export function mbqm(x: number, m: number, shift: number, single: boolean): number {
  if (single) {
    const total = 31 - shift;
    if (total < 16) return floor((x * m + POW2[total - 1]) / POW2[total]);
    return floorMulDivPow2(x, m, POW2[total - 1], total);
  }
  const a = shift > 0 ? wrapInt32(x * POW2[shift]) : x;
  // |a| < 2^22 keeps a·m + 2^30 below 2^53, exact in a double: the common case of a conv accumulator.
  const h =
    a < TWO22 && a > -TWO22
      ? floor((a * m + TWO30) / TWO31)
      : a === -TWO31 && m === -TWO31
        ? TWO31 - 1
        : floorMulDivPow2(a, m, TWO30, 31);
  if (shift >= 0) return h;
  const p = POW2[-shift];
  const q = floor(h / p);
  const rem = h - q * p;
  return q + (rem > p / 2 - 1 + (h < 0 ? 1 : 0) ? 1 : 0);
}

/** gemmlowp SaturatingRoundingDoublingHighMul of int32 a, b (what mbqm's double rounding does inline). */
export function srdhm(a: number, b: number): number {
  return a === -TWO31 && b === -TWO31 ? TWO31 - 1 : floorMulDivPow2(a, b, TWO30, 31);
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounding half away from zero, exponent 0..64. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const p = POW2[exponent];
  const q = floor(x / p);
  const rem = x - q * p;
  return q + (rem > p / 2 - 1 + (x < 0 ? 1 : 0) ? 1 : 0);
}

/**
 * The requantization of an op whose outputs are int32 accumulators (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D):
 * multipliers and shifts (one, or one per channel when perChannel; int32 Bufs, in the blob when possible),
 * prepareRequant's constants, the output zero point and the activation bounds.
 */
export interface Requant {
  mult: Buf;
  shift: Buf;
  perChannel: boolean;
  /** Single rounding (the model's rounding mode resolved for this op at load). */
  single: boolean;
  rq: Buf;
  /** requantizeRow may skip the check that acc·M is within the constants' reach (prepareRequant). */
  rqExact: boolean;
  outZp: number;
  actMin: number;
  actMax: number;
}

/**
 * Reads an op's requantization from its options (the multiplier and shift vectors, the output zero point and the
 * bounds, at vtable offsets `fields`: multipliers, shifts, zero point, min, max) in place from the blob; depth:
 * the products an output sums, bias: the op's int32 biases (the range check).
 */
export function readRequant(ctx: OpContext, fields: number[], bias: Buf, channels: number, depth: number): Requant {
  const b = ctx.blob,
    mv = fieldVector(b, ctx.options, fields[0], 4),
    sv = fieldVector(b, ctx.options, fields[1], 4);
  const n = mv !== null ? mv[1] : 0;
  if (mv === null || sv === null || sv[1] !== n || (n !== 1 && n !== channels)) badOptions(ctx.index, 'multipliers');
  const r: Requant = {
    mult: int32Span(b.bytes, mv![0], n),
    shift: int32Span(b.bytes, sv![0], n),
    perChannel: n > 1,
    single: ctx.single,
    rq: bias,
    rqExact: false,
    outZp: optI32(ctx, fields[2], 0),
    actMin: optI32(ctx, fields[3], -128),
    actMax: optI32(ctx, fields[4], 127),
  };
  for (let i = 0; i < n; i++) {
    if (!(r.shift[i] >= -31 && r.shift[i] <= 30) || !(r.mult[i] >= 0))
      badOptions(ctx.index, 'shift/multiplier out of range');
  }
  checkBounds(ctx, r.actMin, r.actMax);
  prepareRequant(r, bias, channels, depth);
  return r;
}

/**
 * TFLM's Prepare for requantization: per channel c, rq[4c..4c+3] = M, K⁺, K⁻, S such that whenever t = acc·M
 * has |t| < 2^51 (then t is exact, and t + K, K ≤ 2^51, too), mbqm(acc) = floor((t + (t < -2^30 ? K⁻ : K⁺))·S):
 * one double expression per output instead of mbqm's branches and two floors. Single rounding is
 * floor((t + 2^(total-1)) / 2^total), total = 31 - shift. Double rounding with shift ≤ 0 is SRDHM,
 * floor((t + 2^30) / 2^31), then RDBPOT by e = -shift, floor((h + 2^(e-1) - [h < 0]) / 2^e); floor(floor(z)/2^e)
 * = floor(z/2^e) merges them into floor((t + K)/2^total), K = 2^30 + 2^(30+e) - [t < -2^30]·2^31 (K = 2^30 when
 * e = 0). With shift > 0 it is SRDHM(acc·2^shift): M = m·2^shift, exact when acc·2^shift cannot wrap, which
 * |t| < 2^51 ensures for m ≥ 2^21. M is NaN (every output takes mbqm) where these do not hold.
 * Where floor is dear (ES5 interpreters: a call; ROUND_BY_FLOOR false) K holds K + 1/2 - 2^(total-1) instead: for
 * an integer N, floor(N/2^T) = round((N + 1/2 - 2^(T-1))/2^T), never a tie, and |K + 1/2 - 2^(T-1)| ≤ 2^30 + 1/2
 * keeps t + K exact with its half below 2^52; z + ROUNDER - ROUNDER then rounds (|z| < 2^51).
 * rqExact: requantizeRow need not check |acc·M| < 2^51 because either every accumulator keeps it
 * (|acc| ≤ |bias| + 128·128·depth) or, with total ≤ 43, beyond it |acc·M / 2^total| ≥ 2^8 saturates the output
 * whichever way it is rounded, like mbqm's exact value does.
 */
function prepareRequant(p: Requant, bias: Buf, channels: number, depth: number): void {
  const rq = newFloat64(p.perChannel ? 4 * channels : 4);
  p.rqExact = true;
  for (let c = 0; c < channels; c++) {
    const i = p.perChannel ? c : 0,
      j = 4 * i,
      m = p.mult[i],
      single = p.single;
    const s = p.shift[i],
      left = single || s < 0 ? 0 : s,
      total = 31 - s + left,
      half = POW2[total - 1];
    rq[j] = total <= 52 && (left === 0 || m >= 2097152) ? m * POW2[left] : NaN;
    const up = single ? half : total > 31 ? TWO30 + half : TWO30,
      down = single || total === 31 ? up : half - TWO30;
    const roundingShift = ROUND_BY_FLOOR ? 0 : 0.5 - half;
    rq[j + 1] = up + roundingShift;
    rq[j + 2] = down + roundingShift;
    rq[j + 3] = 1 / POW2[total];
    if (!(total <= 43 ? rq[j] >= 0 : (Math.abs(bias[c]) + 16384 * depth) * rq[j] < TWO51)) p.rqExact = false; // NaN M fails
  }
  p.rq = rq;
}

/** One output: mbqm(acc) for output channel c through prepareRequant's table, plus the output zero point, clamped. */
export function requantize(acc: number, p: Requant, c: number): number {
  const i = p.perChannel ? c : 0,
    rq = p.rq,
    j = 4 * i,
    t = acc * rq[j];
  let v = p.outZp;
  if (t < TWO51 && t > -TWO51) {
    const z = (t + (t < -TWO30 ? rq[j + 2] : rq[j + 1])) * rq[j + 3];
    v += ROUND_BY_FLOOR ? floor(z) : z + ROUNDER - ROUNDER;
  } else v += mbqm(acc, p.mult[i], p.shift[i], p.single);
  return v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
}

/**
 * requantize() over an accumulator row (one per output channel) into y from yBase: the per-output work of
 * FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D. Where prepareRequant found the range check needless (rqExact),
 * it is written out as statements rather than conditional expressions (fewer Lua instructions), with the constants
 * in locals: an interpreter reads a variable of an enclosing scope or a property slower (Duktape: ~27 ns and
 * ~100 ns more than a local).
 */
export function requantizeRow(p: Requant, acc: Buf, n: number, y: Buf, yBase: number): void {
  if (!p.rqExact) {
    for (let c = 0; c < n; c++) y[yBase + c] = requantize(acc[c], p, c);
    return;
  }
  const rq = p.rq,
    jStep = p.perChannel ? 4 : 0,
    zp = p.outZp,
    lo = p.actMin,
    hi = p.actMax,
    nudge = -TWO30,
    rounder = ROUNDER;
  let j = 0,
    o = 0;
  if (TRACING_JIT) {
    // The same without data-dependent branches (api.d.ts): acc·M is an integer, so min(1, max(0, -2^30 - acc·M)) is
    // [acc·M < -2^30]; floor, as TRACING_JIT is Lua's. No declarations in here: they would leave the ES5 build a
    // stub of this dead branch.
    for (; o < n; o++) {
      y[yBase + o] = Math.min(
        Math.max(
          zp +
            floor(
              (acc[o] * rq[j] +
                rq[j + 1] +
                (rq[j + 2] - rq[j + 1]) * Math.min(1, Math.max(0, nudge - acc[o] * rq[j]))) *
                rq[j + 3],
            ),
          lo,
        ),
        hi,
      );
      j += jStep;
    }
    return;
  }
  for (let c = 0; c < n; c++) {
    const q = acc[c] * rq[j];
    let k = rq[j + 1];
    if (q < nudge) k = rq[j + 2];
    let v: number;
    if (ROUND_BY_FLOOR) v = floor((q + k) * rq[j + 3]) + zp;
    else v = (q + k) * rq[j + 3] + rounder - (rounder - zp);
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    y[yBase + c] = v;
    j += jStep;
  }
}
