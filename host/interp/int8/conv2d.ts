import type { Conv2DOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

export interface ConvShapes {
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
}

/**
 * CONV_2D, NHWC, weights [oc,kh,kw,ic]. Taps outside the input read input_zero_point, which the folded bias
 * (bias − zp_in·Σw) cancels, so the result equals TFLM's Σ(x − zp_in)·w over the inside taps.
 */
export function conv2d(
  x: Int8Array,
  w: Int8Array,
  bias: Int32Array,
  y: Int8Array,
  s: ConvShapes,
  o: Conv2DOptions,
  rounding: Rounding,
): void {
  const perChannel = o.output_multiplier.length > 1;
  const zp = o.input_zero_point;
  const tap = s.kW * s.inC;
  for (let oy = 0; oy < s.outH; oy++) {
    for (let ox = 0; ox < s.outW; ox++) {
      for (let oc = 0; oc < s.outC; oc++) {
        let acc = bias[oc];
        for (let ky = 0; ky < s.kH; ky++) {
          const iy = oy * o.stride_h - o.pad_top + ky * o.dilation_h;
          const rowInside = iy >= 0 && iy < s.inH;
          for (let kx = 0; kx < s.kW; kx++) {
            const ix = ox * o.stride_w - o.pad_left + kx * o.dilation_w;
            const wb = oc * s.kH * tap + ky * tap + kx * s.inC;
            if (rowInside && ix >= 0 && ix < s.inW) {
              const xb = (iy * s.inW + ix) * s.inC;
              for (let ic = 0; ic < s.inC; ic++) acc += x[xb + ic] * w[wb + ic];
            } else {
              for (let ic = 0; ic < s.inC; ic++) acc += zp * w[wb + ic];
            }
          }
        }
        const i = perChannel ? oc : 0;
        const v =
          multiplyByQuantizedMultiplier(acc, o.output_multiplier[i], o.output_shift[i], rounding) + o.output_zero_point;
        y[(oy * s.outW + ox) * s.outC + oc] =
          v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
      }
    }
  }
}
