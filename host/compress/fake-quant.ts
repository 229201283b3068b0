// Fake quantization for quantization-aware training and for measuring low-bit accuracy in float:
// weights per output channel, symmetric, b bits (levels −(2^(b−1)−1) … 2^(b−1)−1, the int8 quantizer's
// scheme generalised to int4/int2); activations per tensor, asymmetric int8 over a fixed range. Gradients
// pass straight through (STE); for activations only inside the representable range.

import * as tf from '@tensorflow/tfjs';

import type { WeightBits } from '../ir/qmodel';

export type { WeightBits };
export const WEIGHT_BITS: readonly WeightBits[] = [8, 4, 2];

/** Keras kernel values rounded to `bits` per output channel (the last axis, `channels` long). */
export function quantizeChannels(w: Float32Array, channels: number, bits: number): Float32Array {
  const qmax = 2 ** (bits - 1) - 1;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) maxAbs[i % channels] = Math.max(maxAbs[i % channels], Math.abs(w[i]));
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const s = maxAbs[i % channels] / qmax;
    out[i] = s > 0 ? Math.max(-qmax, Math.min(qmax, Math.round(w[i] / s))) * s : 0;
  }
  return out;
}

export function fakeQuantWeights(w: tf.Tensor, channels: number, bits: number): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const wt = args[0] as tf.Tensor;
    return {
      value: tf.tensor(quantizeChannels(wt.dataSync() as Float32Array, channels, bits), wt.shape),
      gradFunc: (dy: tf.Tensor) => dy,
    };
  });
  return op(w) as tf.Tensor;
}

/** int8 asymmetric fake quantization over [lo, hi] (widened to contain 0, like the int8 quantizer). */
export function fakeQuantActivation(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  lo = Math.min(0, lo);
  hi = Math.max(0, hi);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zp = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  const op = tf.customGrad((...args: unknown[]) => {
    const xt = args[0] as tf.Tensor;
    const xv = xt.dataSync() as Float32Array;
    const y = new Float32Array(xv.length);
    const pass = new Float32Array(xv.length);
    for (let i = 0; i < xv.length; i++) {
      const q = Math.max(-128, Math.min(127, Math.round(xv[i] / scale) + zp));
      y[i] = (q - zp) * scale;
      pass[i] = xv[i] >= lo && xv[i] <= hi ? 1 : 0;
    }
    return { value: tf.tensor(y, xt.shape), gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor(pass, xt.shape)) };
  });
  return op(x) as tf.Tensor;
}
