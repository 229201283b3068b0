import { strict as assert } from 'assert';
import {
  multiplyByQuantizedMultiplier,
  quantizeMultiplier,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
} from '../host/quantize/fixedpoint';
import { Rng } from '../host/util/rng';

// Literal BigInt transcriptions of TFLite's C++ (common.h / gemmlowp fixedpoint.h): the independent oracle.
const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;
const wrap32 = (x: bigint) => BigInt.asIntN(32, x);
function srdhmRef(a: bigint, b: bigint): bigint {
  if (a === b && a === I32_MIN) return I32_MAX;
  const ab = a * b;
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return (ab + nudge) / (1n << 31n); // BigInt division truncates toward zero like C
}
function rdbpRef(x: bigint, e: bigint): bigint {
  const mask = (1n << e) - 1n;
  const remainder = x & mask;
  const threshold = (mask >> 1n) + (x < 0n ? 1n : 0n);
  return (x >> e) + (remainder > threshold ? 1n : 0n);
}
function mbqmDoubleRef(x: bigint, m: bigint, shift: number): bigint {
  const left = BigInt(shift > 0 ? shift : 0);
  const right = BigInt(shift > 0 ? 0 : -shift);
  return rdbpRef(srdhmRef(wrap32(x * (1n << left)), m), right);
}
function mbqmSingleRef(x: bigint, m: bigint, shift: number): bigint {
  const total = BigInt(31 - shift);
  return (x * m + (1n << (total - 1n))) >> total;
}

describe('fixed-point requantization (exact with doubles)', () => {
  const rng = new Rng(1234);
  const int32 = () => {
    const r = rng.next();
    if (r < 0.05) return -2147483648;
    if (r < 0.1) return 2147483647;
    if (r < 0.3) return rng.int(-200000, 200000);
    return Math.floor(rng.uniform(-2147483648, 2147483648));
  };
  const multiplier = () => (rng.next() < 0.2 ? 2147483647 - rng.int(0, 3) : rng.int(1073741824, 2147483647));

  it('SaturatingRoundingDoublingHighMul matches BigInt on 20,000 cases incl. edges', () => {
    for (let i = 0; i < 20000; i++) {
      const a = int32(),
        b = i % 3 === 0 ? int32() : multiplier();
      assert.equal(saturatingRoundingDoublingHighMul(a, b), Number(srdhmRef(BigInt(a), BigInt(b))), `a=${a} b=${b}`);
    }
    assert.equal(saturatingRoundingDoublingHighMul(-2147483648, -2147483648), 2147483647);
  });

  it('RoundingDivideByPOT matches BigInt for exponents 0..31', () => {
    for (let i = 0; i < 20000; i++) {
      const x = int32(),
        e = rng.int(0, 31);
      assert.equal(roundingDivideByPOT(x, e), Number(rdbpRef(BigInt(x), BigInt(e))), `x=${x} e=${e}`);
    }
  });

  it('MultiplyByQuantizedMultiplier (double rounding, TFLM default) matches BigInt, shifts −31..+30', () => {
    for (let i = 0; i < 20000; i++) {
      const shift = rng.int(-31, 30);
      // Positive shifts only occur with small accumulators in practice; keep x·2^shift inside int64 like C.
      const x = shift > 0 ? rng.int(-(2 ** (31 - Math.min(shift, 30))), 2 ** (31 - Math.min(shift, 30))) : int32();
      const m = multiplier();
      assert.equal(
        multiplyByQuantizedMultiplier(x, m, shift, 'double'),
        Number(mbqmDoubleRef(BigInt(x), BigInt(m), shift)),
        `x=${x} m=${m} s=${shift}`,
      );
    }
  });

  it('MultiplyByQuantizedMultiplier (single rounding, full TFLite) matches BigInt, shifts −31..+30', () => {
    let checked = 0;
    for (let i = 0; i < 40000 && checked < 20000; i++) {
      const shift = rng.int(-31, 30);
      const x = int32(),
        m = multiplier();
      const ref = mbqmSingleRef(BigInt(x), BigInt(m), shift);
      if (ref < I32_MIN || ref > I32_MAX) continue; // TFLite DCHECKs the result fits int32
      assert.equal(multiplyByQuantizedMultiplier(x, m, shift, 'single'), Number(ref), `x=${x} m=${m} s=${shift}`);
      checked++;
    }
    assert.ok(checked >= 1000, `only ${checked} in-range cases`);
  });

  it('QuantizeMultiplier reproduces TFLite (frexp + round, 2^31 carry, tiny scales to zero)', () => {
    assert.deepEqual(quantizeMultiplier(0.5), { multiplier: 1073741824, shift: 0 });
    assert.deepEqual(quantizeMultiplier(1), { multiplier: 1073741824, shift: 1 });
    assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
    assert.deepEqual(quantizeMultiplier(2 ** -40), { multiplier: 0, shift: 0 });
    // 1 − 2^−40 rounds up to 2^31 and carries into the exponent.
    assert.deepEqual(quantizeMultiplier(1 - 2 ** -40), { multiplier: 1073741824, shift: 1 });
    for (let i = 0; i < 2000; i++) {
      const real = Math.exp(rng.uniform(-20, 5));
      const { multiplier: m, shift } = quantizeMultiplier(real);
      assert.ok(m >= 2 ** 30 && m < 2 ** 31);
      assert.ok(Math.abs(m * 2 ** (shift - 31) - real) <= real * 2 ** -30);
    }
  });
});
