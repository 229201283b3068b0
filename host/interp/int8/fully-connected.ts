import type { FullyConnectedOptions } from '../../ir/qmodel';
import { multiplyByQuantizedMultiplier, type Rounding } from '../../quantize/fixedpoint';

/** y[b,o] = clamp(MBQM(bias[o] + Σ_k x[b,k]·w[o,k]) + zp_out): the input offset is folded into bias. */
export function fullyConnected(
  x: Int8Array,
  w: Int8Array,
  bias: Int32Array,
  depth: number,
  y: Int8Array,
  o: FullyConnectedOptions,
  rounding: Rounding,
): void {
  const outs = bias.length;
  const batches = x.length / depth;
  const perChannel = o.output_multiplier.length > 1;
  for (let b = 0; b < batches; b++) {
    for (let c = 0; c < outs; c++) {
      let acc = bias[c];
      const wb = c * depth;
      const xb = b * depth;
      for (let k = 0; k < depth; k++) acc += x[xb + k] * w[wb + k];
      const i = perChannel ? c : 0;
      const v =
        multiplyByQuantizedMultiplier(acc, o.output_multiplier[i], o.output_shift[i], rounding) + o.output_zero_point;
      y[b * outs + c] = v < o.activation_min ? o.activation_min : v > o.activation_max ? o.activation_max : v;
    }
  }
}
