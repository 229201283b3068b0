import type { Conv2DOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';
import type { ConvShapes } from './conv2d';

/**
 * DEPTHWISE_CONV_2D, NHWC, weights [1,kh,kw,c·m]: output channel oc reads input channel oc/m. Taps outside the
 * input read input_zero_point (cancelled by the folded bias).
 */
export function depthwiseConv2d(
  x: Int8Array,
  w: Int8Array,
  bias: Int32Array,
  y: Int8Array,
  s: ConvShapes,
  o: Conv2DOptions,
  rounding: Rounding,
): void {
  const perChannel = o.output_multiplier.length > 1;
  const m = o.depth_multiplier;
  const zp = o.input_zero_point;
  for (let oy = 0; oy < s.outH; oy++) {
    for (let ox = 0; ox < s.outW; ox++) {
      for (let oc = 0; oc < s.outC; oc++) {
        const ic = (oc - (oc % m)) / m;
        let acc = bias[oc];
        for (let ky = 0; ky < s.kH; ky++) {
          const iy = oy * o.stride_h - o.pad_top + ky * o.dilation_h;
          const rowInside = iy >= 0 && iy < s.inH;
          for (let kx = 0; kx < s.kW; kx++) {
            const ix = ox * o.stride_w - o.pad_left + kx * o.dilation_w;
            const v = rowInside && ix >= 0 && ix < s.inW ? x[(iy * s.inW + ix) * s.inC + ic] : zp;
            acc += v * w[(ky * s.kW + kx) * s.outC + oc];
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
