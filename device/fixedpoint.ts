// TFLite requantization with doubles only (no bitwise ops, no Math.imul, no BigInt): the same split-product
// formulas as host/quantize/fixedpoint.ts, which a test checks against BigInt.

const TWO16 = 65536;
const TWO22 = 4194304;
const TWO30 = 1073741824;
const TWO31 = 2147483648;
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
