// LAYER_NORM over rows of `count` values (ONNX LayerNormalization, and torch's exported ReduceMean/Sub/Pow/Sqrt/Div
// pattern fused by the host). TFLite has no int8 LayerNorm; the design (device/README.md) is exact integer
// arithmetic up to one requantization: with d = x − zp_in, c = count·d − Σd (count times the centred value) and
// D = Σc² + E (E: the epsilon in these units), each value's normalized form times 2^20/√count is
// t = round(c·2^20/√D), computed as an exact integer division by R = isqrt(D·4^m) (m fills 52 bits); then, like a
// FULLY_CONNECTED row with int8 γ and int32 β, y = clamp(MBQM(t·γ + β) + zp_out).

import { mbqm } from '../fixedpoint';
import { type CentredRequant, centredRequantValid, readCentredRequant } from './centred-requant';
import {
  LayerNormOptions_count,
  LayerNormOptions_epsilon_high,
  LayerNormOptions_epsilon_low,
  LayerNormOptions_input_zero_point,
  LayerNormOptions_output_multiplier,
  LayerNormOptions_output_shift,
  LayerNormOptions_output_zero_point,
  LayerNormOptions_rows,
  Options_LayerNormOptions,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { type Buf, floor, newFloat64 } from '../platform/api';
import { readDenseWeights } from './dense';

/** At most this many values per row: Σc² ≤ count·(255·count)² stays below 2^52, exact in a double. */
const MAX_COUNT = 4096;
const TWO20 = 1048576;
const TWO25 = 33554432;
const TWO50 = 1125899906842624;

interface LayerNormData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  gamma: Buf;
  gOff: number;
  bias: Buf;
  rows: number;
  count: number;
  eps: number;
  rq: CentredRequant;
  /** One row's c values (load-time storage). */
  centred: Buf;
}

function prepareLayerNorm(ctx: OpContext): LayerNormData {
  needOptions(ctx, Options_LayerNormOptions);
  const oi = ctx.index,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output],
    w = readDenseWeights(ctx, null);
  const p: LayerNormData = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    gamma: w.w,
    gOff: w.wOff,
    bias: w.bias,
    rows: optI32(ctx, LayerNormOptions_rows, 0),
    count: optI32(ctx, LayerNormOptions_count, 0),
    eps: optI32(ctx, LayerNormOptions_epsilon_high, 0) * TWO25 + optI32(ctx, LayerNormOptions_epsilon_low, 0),
    rq: readCentredRequant(ctx, [
      LayerNormOptions_input_zero_point,
      LayerNormOptions_output_zero_point,
      LayerNormOptions_output_multiplier,
      LayerNormOptions_output_shift,
    ]),
    centred: newFloat64(1),
  };
  if (!(p.rows >= 1 && p.count >= 1 && p.count <= MAX_COUNT)) badOptions(oi, 'layer norm rows of 1 to 4096 values');
  if (
    p.rows * p.count !== inputInfo(ctx, 0).count ||
    outputInfo(ctx).count !== inputInfo(ctx, 0).count ||
    inputInfo(ctx, 1).count !== p.count ||
    inputInfo(ctx, 2).count !== p.count
  )
    badShape(oi, 'layer norm shapes');
  if (!(p.eps >= 0 && p.eps < TWO50 && centredRequantValid(p.rq))) badOptions(oi, 'layer norm parameters');
  // t·γ + β within int32: |t| ≤ 2^20 + 1, |γ| ≤ 128.
  for (let i = 0; i < p.count; i++)
    if (Math.abs(p.bias[i]) > 2147483647 - 128 * (TWO20 + 1)) badOptions(oi, 'layer norm bias');
  p.centred = newFloat64(p.count);
  return p;
}

/** floor(√n) exactly, for 0 ≤ n < 2^53 (Math.sqrt corrected, so the engines' sqrt rounding does not matter). */
function isqrt(n: number): number {
  let r = floor(Math.sqrt(n));
  while (r * r > n) r -= 1;
  while ((r + 1) * (r + 1) <= n) r += 1;
  return r;
}

function evalLayerNorm(p: LayerNormData): void {
  const x = p.x,
    y = p.y,
    n = p.count,
    c = p.centred,
    gamma = p.gamma,
    gOff = p.gOff,
    bias = p.bias,
    rq = p.rq,
    zp = rq.inZp;
  for (let row = 0; row < p.rows; row++) {
    const at = p.xOff + row * n,
      to = p.yOff + row * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[at + i] - zp;
    let d = p.eps;
    for (let i = 0; i < n; i++) {
      const v = n * (x[at + i] - zp) - sum;
      c[i] = v;
      d += v * v;
    }
    // R ≈ √D·2^m with m as large as keeps D·4^m below 2^52; |c|·2^m ≤ R, so c·2^(m+20) stays below 2^46.
    let scale = TWO20;
    while (d > 0 && d < TWO50) {
      d *= 4;
      scale *= 2;
    }
    const r = isqrt(d);
    for (let i = 0; i < n; i++) {
      let t = 0;
      if (r > 0) {
        const a = Math.abs(c[i]) * scale;
        // round(a / r) half away from zero, exactly: the quotient's floor, corrected by the remainder.
        let q = floor((2 * a + r) / (2 * r));
        const rem = 2 * a + r - q * 2 * r;
        if (rem < 0) q -= 1;
        else if (rem >= 2 * r) q += 1;
        t = c[i] < 0 ? -q : q;
      }
      let v = mbqm(t * gamma[gOff + i] + bias[i], rq.mult, rq.shift, rq.single) + rq.outZp;
      v = v < -128 ? -128 : v > 127 ? 127 : v;
      y[to + i] = v;
    }
  }
}

export const LAYER_NORM: OpRegistration = { prepare: prepareLayerNorm, eval: evalLayerNorm };
