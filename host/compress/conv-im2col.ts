// Training kernels for TF.js's pure-JS CPU backend, whose own conv2d gradient, pooling gradients and
// broadcasting element-wise gradients (a transpose per reduction) are far too slow. Shared by the zoo
// trainer (models/train.ts) and the compression fine-tuning (net.ts): a convolution is im2col (a
// tf.customGrad op, col2im in the backward pass) followed by tf.matMul; depthwise convolution, max pooling
// and batch norm fused with ReLU are tf.customGrad ops over typed arrays. NHWC throughout, Keras padding
// semantics ('same' puts the extra row/column at the bottom/right).

import * as tf from '@tensorflow/tfjs';
import type { Pad } from './seq-model';

export interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padding: Pad;
}

interface Geometry {
  oh: number;
  ow: number;
  top: number;
  left: number;
}

export function windowGeometry(h: number, w: number, win: Window): Geometry {
  if (win.padding === 'valid')
    return { oh: Math.floor((h - win.kh) / win.sh) + 1, ow: Math.floor((w - win.kw) / win.sw) + 1, top: 0, left: 0 };
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
    // Calls f(patch offset, x offset) for every in-bounds run of c values, in patch order (padding stays 0).
    const visit = (f: (p: number, q: number) => void) => {
      let p = 0;
      for (let b = 0; b < n; b++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            for (let ky = 0; ky < win.kh; ky++) {
              const y = i * win.sh + ky - top;
              for (let kx = 0; kx < win.kw; kx++, p += c) {
                const xx = j * win.sw + kx - left;
                if (y >= 0 && y < h && xx >= 0 && xx < w) f(p, ((b * h + y) * w + xx) * c);
              }
            }
          }
        }
      }
    };
    const out = new Float32Array(rows * K);
    visit((p, q) => {
      for (let ch = 0; ch < c; ch++) out[p + ch] = xv[q + ch];
    });
    const gradFunc = (dy: tf.Tensor) => {
      const g = dy.dataSync() as Float32Array;
      const dx = new Float32Array(xv.length);
      visit((p, q) => {
        for (let ch = 0; ch < c; ch++) dx[q + ch] += g[p + ch];
      });
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
    // Offsets of the window's positions from its corner, in (ky, kx) order: the first maximum wins.
    const offsets: number[] = [];
    for (let ky = 0; ky < win.kh; ky++) for (let kx = 0; kx < win.kw; kx++) offsets.push((ky * w + kx) * c);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const corner = ((b * h + i * win.sh) * w + j * win.sw) * c;
          for (let ch = 0; ch < c; ch++, o++) {
            let best = corner + ch;
            for (let t = 1; t < offsets.length; t++) {
              const q = corner + offsets[t] + ch;
              if (xv[q] > xv[best]) best = q;
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
  // A 1×1 stride-1 convolution's patches are the input itself.
  const patches =
    win.kh === 1 && win.kw === 1 && win.sh === 1 && win.sw === 1
      ? (tf.reshape(x, [-1, x.shape[3]]) as tf.Tensor2D)
      : im2col(x, win);
  const y = tf.matMul(patches, tf.reshape(kernel, [-1, filters]) as tf.Tensor2D);
  return tf.reshape(y, [n, oh, ow, filters]) as tf.Tensor4D;
}

/**
 * Batch norm of x [..., C] over all its rows with this batch's statistics (biased variance, as Keras trains),
 * then ReLU; gradients for x, γ and β.
 */
export function batchNormReluTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, gt, bt] = args as tf.Tensor[];
    const C = xt.shape[xt.shape.length - 1];
    const xv = xt.dataSync() as Float32Array;
    const M = xv.length / C;
    const gv = gt.dataSync() as Float32Array;
    const bv = bt.dataSync() as Float32Array;
    const mean = new Float64Array(C);
    const sq = new Float64Array(C);
    for (let i = 0, p = 0; i < M; i++) {
      for (let c = 0; c < C; c++, p++) {
        const v = xv[p];
        mean[c] += v;
        sq[c] += v * v;
      }
    }
    const inv = new Float32Array(C);
    const mf = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      mean[c] /= M;
      const variance = Math.max(0, sq[c] / M - mean[c] * mean[c]);
      inv[c] = 1 / Math.sqrt(variance + epsilon);
      mf[c] = mean[c];
    }
    const xhat = new Float32Array(M * C);
    const y = new Float32Array(M * C);
    for (let i = 0, p = 0; i < M; i++) {
      for (let c = 0; c < C; c++, p++) {
        const h = (xv[p] - mf[c]) * inv[c];
        xhat[p] = h;
        const v = gv[c] * h + bv[c];
        y[p] = v > 0 ? v : 0;
      }
    }
    const gradFunc = (dy: tf.Tensor) => {
      const dyv = dy.dataSync() as Float32Array;
      const g = new Float32Array(M * C);
      const dbeta = new Float64Array(C);
      const dgamma = new Float64Array(C);
      for (let p = 0; p < M * C; p++) {
        if (y[p] > 0) {
          const c = p % C;
          const d = dyv[p];
          g[p] = d;
          dbeta[c] += d;
          dgamma[c] += d * xhat[p];
        }
      }
      const k = new Float32Array(C);
      const mb = new Float32Array(C);
      const mg = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        k[c] = gv[c] * inv[c];
        mb[c] = dbeta[c] / M;
        mg[c] = dgamma[c] / M;
      }
      const dx = new Float32Array(M * C);
      for (let i = 0, p = 0; i < M; i++) {
        for (let c = 0; c < C; c++, p++) dx[p] = k[c] * (g[p] - mb[c] - xhat[p] * mg[c]);
      }
      return [tf.tensor(dx, xt.shape), tf.tensor1d(Float32Array.from(dgamma)), tf.tensor1d(Float32Array.from(dbeta))];
    };
    return { value: tf.tensor(y, xt.shape), gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor;
}

/** Fixed (population) batch-norm statistics and ε. */
export interface BatchNormStats {
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/**
 * Batch norm of x [..., C] with fixed statistics, as at inference: x·s + (β − mean·s) with s = γ/√(variance + ε),
 * optionally followed by ReLU; gradients for x, γ and β (the statistics stay fixed).
 */
export function batchNormFrozen(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  stats: BatchNormStats,
  relu: boolean,
): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [xt, gt, bt] = args as tf.Tensor[];
    const C = xt.shape[xt.shape.length - 1];
    const xv = xt.dataSync() as Float32Array;
    const gv = gt.dataSync() as Float32Array;
    const bv = bt.dataSync() as Float32Array;
    const { mean, variance, epsilon } = stats;
    const scale = new Float32Array(C);
    const shift = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      scale[c] = gv[c] / Math.sqrt(variance[c] + epsilon);
      shift[c] = bv[c] - mean[c] * scale[c];
    }
    const y = new Float32Array(xv.length);
    for (let p = 0; p < xv.length; ) {
      for (let c = 0; c < C; c++, p++) {
        const v = xv[p] * scale[c] + shift[c];
        y[p] = !relu || v > 0 ? v : 0;
      }
    }
    const gradFunc = (dy: tf.Tensor) => {
      const dyv = dy.dataSync() as Float32Array;
      const dx = new Float32Array(xv.length);
      // Σ dy and Σ dy·x per channel; dγ = (Σ dy·x − mean·Σ dy) / √(variance + ε).
      const dbeta = new Float64Array(C);
      const dyx = new Float64Array(C);
      for (let p = 0; p < xv.length; ) {
        for (let c = 0; c < C; c++, p++) {
          if (relu && !(y[p] > 0)) continue;
          const d = dyv[p];
          dx[p] = d * scale[c];
          dbeta[c] += d;
          dyx[c] += d * xv[p];
        }
      }
      const dgamma = new Float32Array(C);
      for (let c = 0; c < C; c++) dgamma[c] = (dyx[c] - mean[c] * dbeta[c]) / Math.sqrt(variance[c] + epsilon);
      return [tf.tensor(dx, xt.shape), tf.tensor(dgamma, gt.shape), tf.tensor(Float32Array.from(dbeta), bt.shape)];
    };
    return { value: tf.tensor(y, xt.shape), gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor;
}

/**
 * Replaces the CPU backend's BatchMatMul kernel for 2-D float32 operands (what every training step here
 * multiplies) with a loop about 1.5–2× as fast that gives bit-identical results: the backend sums each output
 * in blocks of `blockSize` shared-dimension terms, a double-precision partial sum per block added into the
 * float32 output in ascending block order, and so does this loop, with both operands laid out contiguously
 * along the shared dimension. Batched (rank > 2) operands keep the backend's kernel. `false` puts the
 * backend's kernel back.
 */
export function useFastMatMul(enabled = true): void {
  const kernel = tf.getKernel('BatchMatMul', 'cpu');
  if (!kernel || (kernel.kernelFunc === fastMatMul) === enabled) return;
  if (enabled) backendMatMul = kernel.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'cpu');
  tf.registerKernel({ ...kernel, kernelFunc: enabled ? fastMatMul : backendMatMul! });
}

interface CpuBackend {
  blockSize: number;
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

let backendMatMul: tf.KernelFunc | undefined;

const fastMatMul: tf.KernelFunc = (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const transposeA = args.attrs?.transposeA === true;
  const transposeB = args.attrs?.transposeB === true;
  const [L, S] = transposeA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [S2, R] = transposeB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  // Anything else (and the error for mismatched shapes) is the backend's.
  if (a.shape.length !== 2 || b.shape.length !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32' || S !== S2)
    return backendMatMul!(args);
  const backend = args.backend as CpuBackend;
  const av = backend.data.get(a.dataId).values;
  const bv = backend.data.get(b.dataId).values;
  // Left rows and right columns, each contiguous along the shared dimension.
  const left = transposeA ? transposed(av, S, L) : av;
  const right = transposeB ? bv : transposed(bv, S, R);
  const out = new Float32Array(L * R);
  const block = backend.blockSize;
  for (let k0 = 0; k0 < S; k0 += block) {
    const k1 = Math.min(k0 + block, S);
    for (let i = 0, o = 0; i < L; i++) {
      const li = i * S;
      for (let j = 0; j < R; j++, o++) {
        const shift = j * S - li;
        let sum = 0;
        for (let k = li + k0; k < li + k1; k++) sum += left[k] * right[shift + k];
        out[o] += sum;
      }
    }
  }
  return backend.makeTensorInfo([L, R], 'float32', out);
};

function transposed(v: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(v.length);
  for (let r = 0, p = 0; r < rows; r++) for (let c = 0; c < cols; c++, p++) t[c * rows + r] = v[p];
  return t;
}
