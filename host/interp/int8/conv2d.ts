import { Conv2DOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, Rounding } from '../../quantize/fixedpoint';

export interface ConvShapes { inH: number; inW: number; inC: number; outH: number; outW: number; outC: number; kH: number; kW: number }

/**
 * CONV_2D (weights [oc,kh,kw,ic]) and DEPTHWISE_CONV_2D (weights [1,kh,kw,oc], oc reads input oc/m).
 * Taps outside the input read input_zero_point, which the folded bias cancels.
 */
export function conv2d(x: Int8Array, w: Int8Array, bias: Int32Array, y: Int8Array, s: ConvShapes, o: Conv2DOptions, depthwise: boolean, rounding: Rounding): void {
  const perChannel = o.output_multiplier.length > 1;
  const m = o.depth_multiplier;
  for (let oy = 0; oy < s.outH; oy++) {
    for (let ox = 0; ox < s.outW; ox++) {
      for (let oc = 0; oc < s.outC; oc++) {
        let acc = bias[oc];
        for (let ky = 0; ky < s.kH; ky++) {
          const iy = oy * o.stride_h - o.pad_top + ky * o.dilation_h;
          for (let kx = 0; kx < s.kW; kx++) {
            const ix = ox * o.stride_w - o.pad_left + kx * o.dilation_w;
            const inside = iy >= 0 && iy < s.inH && ix >= 0 && ix < s.inW;
            const xb = (iy * s.inW + ix) * s.inC;
            if (depthwise) {
              const v = inside ? x[xb + Math.floor(oc / m)] : o.input_zero_point;
              acc += v * w[(ky * s.kW + kx) * s.outC + oc];
            } else {
              const wb = ((oc * s.kH + ky) * s.kW + kx) * s.inC;
              for (let ic = 0; ic < s.inC; ic++) acc += (inside ? x[xb + ic] : o.input_zero_point) * w[wb + ic];
            }
          }
        }
        const i = perChannel ? oc : 0;
        const v = multiplyByQuantizedMultiplier(acc, o.output_multiplier[i], o.output_shift[i], rounding) + o.output_zero_point;
        y[(oy * s.outW + ox) * s.outC + oc] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
      }
    }
  }
}
