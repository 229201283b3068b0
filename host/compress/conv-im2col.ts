// Convolution and pooling kernels for training on TF.js's pure-JS CPU backend, whose own conv2d gradient
// and pooling gradients are far too slow. Generalised from the zoo trainer's fixed-shape kernels
// (models/train.ts): a convolution is im2col (a tf.customGrad op, col2im in the backward pass) followed by
// tf.matMul; depthwise convolution and max pooling are tf.customGrad ops over typed arrays. NHWC throughout,
// Keras padding semantics ('same' puts the extra row/column at the bottom/right).

import * as tf from '@tensorflow/tfjs';
import { Pad } from './seq-model';

export interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padding: Pad;
}

interface Geometry { oh: number; ow: number; top: number; left: number }

export function windowGeometry(h: number, w: number, win: Window): Geometry {
  if (win.padding === 'valid') return { oh: Math.floor((h - win.kh) / win.sh) + 1, ow: Math.floor((w - win.kw) / win.sw) + 1, top: 0, left: 0 };
  const oh = Math.ceil(h / win.sh);
  const ow = Math.ceil(w / win.sw);
  const th = Math.max((oh - 1) * win.sh + win.kh - h, 0);
  const tw = Math.max((ow - 1) * win.sw + win.kw - w, 0);
  return { oh, ow, top: Math.floor(th / 2), left: Math.floor(tw / 2) };
}

/**
 * Patches of x [n, h, w, c] as rows [n·oh·ow, kh·kw·c] in (ky, kx, c) order, so that
 * matMul(patches, kernel reshaped to [kh·kw·c, out]) is the convolution with a Keras [kh, kw, c, out] kernel.
 */
export function im2col(x: tf.Tensor4D, win: Window): tf.Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const xt = args[0] as tf.Tensor4D;
    const [n, h, w, c] = xt.shape;
    const { oh, ow, top, left } = windowGeometry(h, w, win);
    const xv = xt.dataSync() as Float32Array;
    const K = win.kh * win.kw * c;
    const rows = n * oh * ow;
    // src[r·K + k] = index into x, or −1 for padding; shared by forward and backward.
    const src = new Int32Array(rows * K);
    const out = new Float32Array(rows * K);
    let p = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let ky = 0; ky < win.kh; ky++) {
            const y = i * win.sh + ky - top;
            for (let kx = 0; kx < win.kw; kx++) {
              const xx = j * win.sw + kx - left;
              const inside = y >= 0 && y < h && xx >= 0 && xx < w;
              const base = ((b * h + y) * w + xx) * c;
              for (let ch = 0; ch < c; ch++, p++) {
                src[p] = inside ? base + ch : -1;
                out[p] = inside ? xv[base + ch] : 0;
              }
            }
          }
        }
      }
    }
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(xv.length);
      for (let q = 0; q < src.length; q++) if (src[q] >= 0) dx[src[q]] += g[q];
      return tf.tensor4d(dx, [n, h, w, c]);
    };
    return { value: tf.tensor2d(out, [rows, K]), gradFunc };
  });
  return op(x) as tf.Tensor2D;
}

/** Depthwise convolution (multiplier 1), kernel [kh, kw, c, 1] (Keras layout). */
export function depthwiseConv(x: tf.Tensor4D, kernel: tf.Tensor, win: Window): tf.Tensor4D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, kt] = args as [tf.Tensor4D, tf.Tensor];
    const [n, h, w, c] = xt.shape;
    const { oh, ow, top, left } = windowGeometry(h, w, win);
    const xv = xt.dataSync() as Float32Array;
    const kv = kt.dataSync() as Float32Array;
    const y = new Float32Array(n * oh * ow * c);
    const visit = (f: (o: number, q: number, k: number) => void) => {
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            const o = ((b * oh + i) * ow + j) * c;
            for (let ky = 0; ky < win.kh; ky++) {
              const yy = i * win.sh + ky - top;
              if (yy < 0 || yy >= h) continue;
              for (let kx = 0; kx < win.kw; kx++) {
                const xx = j * win.sw + kx - left;
                if (xx < 0 || xx >= w) continue;
                f(o, ((b * h + yy) * w + xx) * c, (ky * win.kw + kx) * c);
              }
            }
          }
        }
      }
    };
    visit((o, q, k) => {
      for (let ch = 0; ch < c; ch++) y[o + ch] += xv[q + ch] * kv[k + ch];
    });
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(xv.length);
      const dk = new Float64Array(kv.length);
      visit((o, q, k) => {
        for (let ch = 0; ch < c; ch++) {
          dx[q + ch] += g[o + ch] * kv[k + ch];
          dk[k + ch] += g[o + ch] * xv[q + ch];
        }
      });
      return [tf.tensor4d(dx, [n, h, w, c]), tf.tensor(Float32Array.from(dk), kt.shape)];
    };
    return { value: tf.tensor4d(y, [n, oh, ow, c]), gradFunc };
  });
  return op(x, kernel) as tf.Tensor4D;
}

/** Max pooling, 'valid', any window and stride; the gradient goes to the first maximum. */
export function maxPool(x: tf.Tensor4D, win: Omit<Window, 'padding'>): tf.Tensor4D {
  const op = tf.customGrad((...args: unknown[]) => {
    const xt = args[0] as tf.Tensor4D;
    const [n, h, w, c] = xt.shape;
    const { oh, ow } = windowGeometry(h, w, { ...win, padding: 'valid' });
    const xv = xt.dataSync() as Float32Array;
    const y = new Float32Array(n * oh * ow * c);
    const arg = new Int32Array(y.length);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let ch = 0; ch < c; ch++, o++) {
            let best = ((b * h + i * win.sh) * w + j * win.sw) * c + ch;
            for (let ky = 0; ky < win.kh; ky++) {
              for (let kx = 0; kx < win.kw; kx++) {
                const q = ((b * h + i * win.sh + ky) * w + j * win.sw + kx) * c + ch;
                if (xv[q] > xv[best]) best = q;
              }
            }
            y[o] = xv[best];
            arg[o] = best;
          }
        }
      }
    }
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(xv.length);
      for (let k = 0; k < arg.length; k++) dx[arg[k]] += g[k];
      return tf.tensor4d(dx, [n, h, w, c]);
    };
    return { value: tf.tensor4d(y, [n, oh, ow, c]), gradFunc };
  });
  return op(x) as tf.Tensor4D;
}

/** Convolution with a Keras kernel [kh, kw, c, filters]: im2col patches times the kernel as one matMul. */
export function conv2d(x: tf.Tensor4D, kernel: tf.Tensor, filters: number, win: Window): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const { oh, ow } = windowGeometry(h, w, win);
  const y = tf.matMul(im2col(x, win), tf.reshape(kernel, [-1, filters]) as tf.Tensor2D);
  return tf.reshape(y, [n, oh, ow, filters]) as tf.Tensor4D;
}
