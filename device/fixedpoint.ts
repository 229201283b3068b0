// TFLite requantization with doubles only (no bitwise ops, no Math.imul, no BigInt): the same split-product
// formulas as host/quantize/fixedpoint.ts, which a test checks against BigInt.

const TWO16 = 65536;
const TWO22 = 4194304;
const TWO30 = 1073741824;
const TWO31 = 2147483648;
const TWO51 = 2251799813685248;
/** 1.5·2^52: z + ROUNDER - ROUNDER rounds z to the nearest integer, for |z| < 2^51. */
const ROUNDER = 6755399441055744;
function powersOfTwo(): number[] {
  const p: number[] = [];
  for (let i = 0; i <= 64; i++) p.push(Math.pow(2, i));
  return p;
}
const POW2 = powersOfTwo();

/** floor((a·b + c) / 2^k), exact for |a|,|b| ≤ 2^31, 0 ≤ c < 2^62, k ≥ 16. */
function floorMulDivPow2(a: number, b: number, c: number, k: number): number {
  const bl = b - floor(b / TWO16) * TWO16;
  const cl = c - floor(c / TWO16) * TWO16;
  const v = a * ((b - bl) / TWO16) + (c - cl) / TWO16 + floor((a * bl + cl) / TWO16);
  return floor(v / POW2[k - 16]);
}

function wrapInt32(x: number): number {
  const r = x - floor(x / 4294967296) * 4294967296;
  return r >= TWO31 ? r - 4294967296 : r;
}

/** MultiplyByQuantizedMultiplier; single = full TFLite's single rounding, else TFLM's double rounding. */
function mbqm(x: number, m: number, shift: number, single: boolean): number {
  if (single) {
    const total = 31 - shift;
    if (total < 16) return floor((x * m + POW2[total - 1]) / POW2[total]);
    return floorMulDivPow2(x, m, POW2[total - 1], total);
  }
  const a = shift > 0 ? wrapInt32(x * POW2[shift]) : x;
  // |a| < 2^22 keeps a·m + 2^30 below 2^53, exact in a double: the common case of a conv accumulator.
  const h = a < TWO22 && a > -TWO22 ? floor((a * m + TWO30) / TWO31) : a === -TWO31 && m === -TWO31 ? TWO31 - 1 : floorMulDivPow2(a, m, TWO30, 31);
  if (shift >= 0) return h;
  const p = POW2[-shift];
  const q = floor(h / p);
  const rem = h - q * p;
  return q + (rem > p / 2 - 1 + (h < 0 ? 1 : 0) ? 1 : 0);
}

/** gemmlowp SaturatingRoundingDoublingHighMul of int32 a, b (what mbqm's double rounding does inline). */
function srdhm(a: number, b: number): number {
  return a === -TWO31 && b === -TWO31 ? TWO31 - 1 : floorMulDivPow2(a, b, TWO30, 31);
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounding half away from zero, exponent 0..64. */
function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const p = POW2[exponent];
  const q = floor(x / p);
  const rem = x - q * p;
  return q + (rem > p / 2 - 1 + (x < 0 ? 1 : 0) ? 1 : 0);
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
 * Where floor is dear (ES5 interpreters: a call; ROUND_BY_FLOOR false) the table holds K + 1/2 - 2^(total-1)
 * instead: for an integer N, floor(N/2^T) = round((N + 1/2 - 2^(T-1))/2^T), never a tie, and |K + 1/2 - 2^(T-1)|
 * ≤ 2^30 + 1/2 keeps t + K exact with its half below 2^52; z + ROUNDER - ROUNDER then rounds (|z| < 2^51).
 */
function requantTable(mult: Buf, shift: Buf, n: number, single: boolean): Buf {
  const rq = newFloat64(4 * n);
  for (let c = 0; c < n; c++) {
    const s = shift[c], left = single || s < 0 ? 0 : s, total = 31 - s + left, half = POW2[total - 1];
    rq[4 * c] = total <= 52 && (left === 0 || mult[c] >= 2097152) ? mult[c] * POW2[left] : NaN;
    const up = single ? half : total > 31 ? TWO30 + half : TWO30, down = single || total === 31 ? up : half - TWO30;
    const roundingShift = ROUND_BY_FLOOR ? 0 : 0.5 - half;
    rq[4 * c + 1] = up + roundingShift;
    rq[4 * c + 2] = down + roundingShift;
    rq[4 * c + 3] = 1 / POW2[total];
  }
  return rq;
}

/** One output of FULLY_CONNECTED or a packed kernel: mbqm(acc) through the op's requantTable (channel i), plus the output zero point, clamped. */
function requantize(acc: number, p: PreparedOp, i: number): number {
  const rq = p.rq, j = 4 * i, t = acc * rq[j];
  let v = p.outZp;
  if (t < TWO51 && t > -TWO51) {
    const z = (t + (t < -TWO30 ? rq[j + 2] : rq[j + 1])) * rq[j + 3];
    v += ROUND_BY_FLOOR ? floor(z) : z + ROUNDER - ROUNDER;
  } else v += mbqm(acc, p.mult[i], p.shift[i], p.single);
  return v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
}

/**
 * requantize() over the op's accumulator row (one per output channel) into y from yBase: the per-output work of
 * CONV_2D and DEPTHWISE_CONV_2D, written out as statements rather than conditional expressions (fewer Lua
 * instructions). The caller passes the op's constants, read once per op: an interpreter pays for a property read
 * per pixel (Duktape: ~100 ns). p is read only where acc·M is too large for the table.
 */
function requantizeRow(p: PreparedOp, acc: Buf, rq: Buf, n: number, jStep: number, zp: number, lo: number, hi: number, y: Buf, yBase: number): void {
  // The constants as locals: an interpreter reads a variable of an enclosing scope slower (Duktape: ~27 ns more).
  const qMax = TWO51, qMin = -TWO51, nudge = -TWO30, rounder = ROUNDER;
  let j = 0;
  if (TRACING_JIT) {
    // The same without data-dependent branches (api.d.ts): q is an integer, so min(1, max(0, -2^30 - q)) is [q < -2^30].
    for (let c = 0; c < n; c++) {
      const a = acc[c], q = a * rq[j], k = rq[j + 1], z = (q + k + (rq[j + 2] - k) * Math.min(1, Math.max(0, nudge - q))) * rq[j + 3];
      const v = zp + (q < qMax && q > qMin ? (ROUND_BY_FLOOR ? floor(z) : z + rounder - rounder) : mbqm(a, p.mult[j / 4], p.shift[j / 4], p.single));
      y[yBase + c] = Math.min(Math.max(v, lo), hi);
      j += jStep;
    }
    return;
  }
  for (let c = 0; c < n; c++) {
    const a = acc[c], q = a * rq[j];
    let v: number;
    if (q < qMax && q > qMin) {
      let k = rq[j + 1];
      if (q < nudge) k = rq[j + 2];
      if (ROUND_BY_FLOOR) v = floor((q + k) * rq[j + 3]) + zp;
      else v = (q + k) * rq[j + 3] + rounder - (rounder - zp);
    } else v = mbqm(a, p.mult[j / 4], p.shift[j / 4], p.single) + zp; // j / 4: this output's multiplier and shift
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    y[yBase + c] = v;
    j += jStep;
  }
}
