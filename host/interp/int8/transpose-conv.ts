import type { Conv2DOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';
import type { ConvShapes } from './conv2d';

/**
 * TRANSPOSE_CONV as TFLM's reference kernel (reference_integer_ops::TransposeConv): every input pixel scatters
 * (x − zp_in)·w into an int32 buffer of the output at (iy·stride − pad + ky·dilation, ...), then each output adds its
 * bias and is requantized. NHWC, weights [oc,kh,kw,ic]; `bias` is the blob's folded one (bias − zp_in·Σw), unfolded
 * here into TFLite's.
 */
export function transposeConv(
  x: Int8Array,
  w: Int8Array,
  bias: Int32Array,
  y: Int8Array,
  s: ConvShapes,
  o: Conv2DOptions,
  rounding: Rounding,
): void {
  const zp = o.input_zero_point;
  const perOut = s.kH * s.kW * s.inC;
  const acc = new Int32Array(s.outH * s.outW * s.outC);
  for (let iy = 0; iy < s.inH; iy++)
    for (let ix = 0; ix < s.inW; ix++)
      for (let ky = 0; ky < s.kH; ky++) {
        const oy = iy * o.stride_h - o.pad_top + ky * o.dilation_h;
        if (oy < 0 || oy >= s.outH) continue;
        for (let kx = 0; kx < s.kW; kx++) {
          const ox = ix * o.stride_w - o.pad_left + kx * o.dilation_w;
          if (ox < 0 || ox >= s.outW) continue;
          for (let oc = 0; oc < s.outC; oc++) {
            const wb = oc * perOut + (ky * s.kW + kx) * s.inC;
            const xb = (iy * s.inW + ix) * s.inC;
            let sum = 0;
            for (let ic = 0; ic < s.inC; ic++) sum += (x[xb + ic] - zp) * w[wb + ic];
            acc[(oy * s.outW + ox) * s.outC + oc] += sum;
          }
        }
      }
  const unfolded = Int32Array.from(bias, (b, oc) => {
    for (let k = 0; k < perOut; k++) b += zp * w[oc * perOut + k];
    return b;
  });
  const perChannel = o.output_multiplier.length > 1;
  for (let p = 0; p < s.outH * s.outW; p++)
    for (let oc = 0; oc < s.outC; oc++) {
      const i = perChannel ? oc : 0;
      const v =
        multiplyByQuantizedMultiplier(
          acc[p * s.outC + oc] + unfolded[oc],
          o.output_multiplier[i],
          o.output_shift[i],
          rounding,
        ) + o.output_zero_point;
      y[p * s.outC + oc] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
    }
}
