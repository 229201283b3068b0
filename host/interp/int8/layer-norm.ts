import type { LayerNormOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

const TWO20 = 2 ** 20;
const TWO50 = 2 ** 50;

/** floor(√n) for 0 ≤ n < 2^53. */
function isqrt(n: number): number {
  let r = Math.floor(Math.sqrt(n));
  while (r * r > n) r--;
  while ((r + 1) * (r + 1) <= n) r++;
  return r;
}

/**
 * LAYER_NORM (device/README.md): per row, c = count·(x − zp) − Σ(x − zp), D = Σc² + E, t = round(c·2^20/√D)
 * (half away from zero, through R = isqrt(D·4^m)), y = clamp(MBQM(t·γ + β) + zp_out). Exact integer arithmetic
 * in doubles (every intermediate below 2^53), as on the device.
 */
export function layerNorm(
  x: Int8Array,
  gamma: Int8Array,
  bias: Int32Array,
  y: Int8Array,
  o: LayerNormOptions,
  rounding: Rounding,
): void {
  const n = o.count;
  const eps = o.epsilon_high * 2 ** 25 + o.epsilon_low;
  for (let row = 0; row < o.rows; row++) {
    const d = Array.from(x.subarray(row * n, (row + 1) * n), (v) => v - o.input_zero_point);
    const sum = d.reduce((s, v) => s + v, 0);
    const c = d.map((v) => n * v - sum);
    let total = c.reduce((s, v) => s + v * v, eps);
    let scale = TWO20;
    while (total > 0 && total < TWO50) {
      total *= 4;
      scale *= 2;
    }
    const r = isqrt(total);
    c.forEach((ci, i) => {
      // round(|c|·scale / r) half away from zero: |c|·scale < 2^47 and the quotient < 2^22, so this is exact.
      const t = r > 0 ? Math.sign(ci) * Math.floor((2 * Math.abs(ci) * scale + r) / (2 * r)) : 0;
      const v =
        multiplyByQuantizedMultiplier(t * gamma[i] + bias[i], o.output_multiplier, o.output_shift, rounding) +
        o.output_zero_point;
      y[row * n + i] = Math.min(127, Math.max(-128, v));
    });
  }
}
