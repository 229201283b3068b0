// Fast float kernels for the float interpreter (the calibrator's engine): convolution as im2col + a
// register-blocked matrix product, depthwise convolution as a channel-contiguous loop, dense as the same product.
//
// Every output is accumulated exactly as the plain loops do it: in a double, starting from the bias, adding the
// products in (ky, kx, ic) order. A product of two float32 values is exact in a double, and a padded tap adds
// 0·w = 0, so the results are bit-identical to the naive convolution, only 20–30× faster.

type F = Float32Array;

/** A convolution's shapes (NHWC input [H, W, C], output [OH, OW, OC]) and its window. */
export interface ConvGeometry {
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  OC: number;
  KH: number;
  KW: number;
  strides: readonly [number, number];
  dilations: readonly [number, number];
  /** Top and left padding (bottom and right follow from the output size). */
  pads: readonly number[];
}

/** im2col rows are gathered in chunks of about this many floats (64 KB), so a chunk stays in L2 while it is used. */
const CHUNK_FLOATS = 16384;

/**
 * C[cOff + p·O + o] = bias[o] + Σ_k A[p·K + k] · W[o·K + k] for p < P, o < O: the rows of A (pixels, or batch rows)
 * against the rows of W (output channels), both contiguous along K. Blocks of 4 rows × 4 channels keep 16
 * accumulators in registers, so each loaded value serves four products.
 */
export function matmulRows(A: F, P: number, K: number, W: F, O: number, bias: F | undefined, C: F, cOff = 0): void {
  const P4 = P - (P % 4);
  const O4 = O - (O % 4);
  for (let p = 0; p < P4; p += 4) {
    const a0 = p * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    for (let o = 0; o < O4; o += 4) {
      const w0 = o * K;
      const w1 = w0 + K;
      const w2 = w1 + K;
      const w3 = w2 + K;
      const b0 = bias ? bias[o] : 0;
      const b1 = bias ? bias[o + 1] : 0;
      const b2 = bias ? bias[o + 2] : 0;
      const b3 = bias ? bias[o + 3] : 0;
      let c00 = b0,
        c01 = b1,
        c02 = b2,
        c03 = b3;
      let c10 = b0,
        c11 = b1,
        c12 = b2,
        c13 = b3;
      let c20 = b0,
        c21 = b1,
        c22 = b2,
        c23 = b3;
      let c30 = b0,
        c31 = b1,
        c32 = b2,
        c33 = b3;
      for (let k = 0; k < K; k++) {
        const x0 = W[w0 + k];
        const x1 = W[w1 + k];
        const x2 = W[w2 + k];
        const x3 = W[w3 + k];
        let a = A[a0 + k];
        c00 += a * x0;
        c01 += a * x1;
        c02 += a * x2;
        c03 += a * x3;
        a = A[a1 + k];
        c10 += a * x0;
        c11 += a * x1;
        c12 += a * x2;
        c13 += a * x3;
        a = A[a2 + k];
        c20 += a * x0;
        c21 += a * x1;
        c22 += a * x2;
        c23 += a * x3;
        a = A[a3 + k];
        c30 += a * x0;
        c31 += a * x1;
        c32 += a * x2;
        c33 += a * x3;
      }
      let c = cOff + p * O + o;
      C[c] = c00;
      C[c + 1] = c01;
      C[c + 2] = c02;
      C[c + 3] = c03;
      c += O;
      C[c] = c10;
      C[c + 1] = c11;
      C[c + 2] = c12;
      C[c + 3] = c13;
      c += O;
      C[c] = c20;
      C[c + 1] = c21;
      C[c + 2] = c22;
      C[c + 3] = c23;
      c += O;
      C[c] = c30;
      C[c + 1] = c31;
      C[c + 2] = c32;
      C[c + 3] = c33;
    }
    for (let o = O4; o < O; o++) for (let r = p; r < p + 4; r++) C[cOff + r * O + o] = dot(A, r * K, W, o, K, bias);
  }
  for (let p = P4; p < P; p++) matmulRow(A, p * K, K, W, O, bias, C, cOff + p * O);
}

/** One row of A against every row of W, four channels at a time (a dense layer at batch 1). */
function matmulRow(A: F, a: number, K: number, W: F, O: number, bias: F | undefined, C: F, c: number): void {
  const O4 = O - (O % 4);
  for (let o = 0; o < O4; o += 4) {
    const w0 = o * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    let c0 = bias ? bias[o] : 0;
    let c1 = bias ? bias[o + 1] : 0;
    let c2 = bias ? bias[o + 2] : 0;
    let c3 = bias ? bias[o + 3] : 0;
    for (let k = 0; k < K; k++) {
      const x = A[a + k];
      c0 += x * W[w0 + k];
      c1 += x * W[w1 + k];
      c2 += x * W[w2 + k];
      c3 += x * W[w3 + k];
    }
    C[c + o] = c0;
    C[c + o + 1] = c1;
    C[c + o + 2] = c2;
    C[c + o + 3] = c3;
  }
  for (let o = O4; o < O; o++) C[c + o] = dot(A, a, W, o, K, bias);
}

/** Row `a` of A against row `o` of W, plus bias[o]. */
function dot(A: F, a: number, W: F, o: number, K: number, bias: F | undefined): number {
  let acc = bias ? bias[o] : 0;
  for (let k = 0, w = o * K; k < K; k++) acc += A[a + k] * W[w + k];
  return acc;
}

/** Convolution (weights [OC, KH, KW, C]) as im2col chunks times the weight rows; a 1×1 stride-1 conv reads x as is. */
export function conv2dFloat(x: F, w: F, bias: F | undefined, g: ConvGeometry): F {
  const { H, W, C, OH, OW, OC, KH, KW } = g;
  const y = new Float32Array(OH * OW * OC);
  const K = KH * KW * C;
  const pointwise =
    KH === 1 && KW === 1 && g.strides[0] === 1 && g.strides[1] === 1 && g.pads[0] === 0 && g.pads[1] === 0;
  if (pointwise && OH === H && OW === W) {
    matmulRows(x, OH * OW, K, w, OC, bias, y);
    return y;
  }
  const rows = Math.max(4, Math.floor(CHUNK_FLOATS / K / 4) * 4);
  const cols = new Float32Array(rows * K);
  for (let first = 0; first < OH * OW; first += rows) {
    const n = Math.min(rows, OH * OW - first);
    for (let r = 0; r < n; r++) im2colRow(x, g, first + r, cols, r * K);
    matmulRows(cols, n, K, w, OC, bias, y, first * OC);
  }
  return y;
}

/** Output pixel `p`'s window as one row (ky, kx, c), zeros where it reaches into the padding. */
function im2colRow(x: F, g: ConvGeometry, p: number, cols: F, at: number): void {
  const { H, W, C, OW, KH, KW } = g;
  const oy = Math.floor(p / OW);
  const ox = p - oy * OW;
  for (let ky = 0; ky < KH; ky++) {
    const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
    for (let kx = 0; kx < KW; kx++, at += C) {
      const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) cols.fill(0, at, at + C);
      else for (let c = 0, xb = (iy * W + ix) * C; c < C; c++) cols[at + c] = x[xb + c];
    }
  }
}

/**
 * Depthwise convolution (weights [1, KH, KW, OC], OC = C·multiplier). For each output pixel, the taps that fall
 * inside the input are listed once; each channel then sums them in a register. A 3×3 window fully inside the input
 * (most pixels) is unrolled.
 */
export function depthwiseConv2dFloat(x: F, w: F, bias: F | undefined, g: ConvGeometry): F {
  const { H, W, C, OH, OW, OC, KH, KW } = g;
  const m = OC / C;
  const y = new Float32Array(OH * OW * OC);
  const xAt = new Int32Array(KH * KW);
  const wAt = new Int32Array(KH * KW);
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++) {
      let taps = 0;
      for (let ky = 0; ky < KH; ky++) {
        const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
        if (iy < 0 || iy >= H) continue;
        for (let kx = 0; kx < KW; kx++) {
          const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
          if (ix < 0 || ix >= W) continue;
          xAt[taps] = (iy * W + ix) * C;
          wAt[taps++] = (ky * KW + kx) * OC;
        }
      }
      const at = (oy * OW + ox) * OC;
      if (m === 1 && taps === 9 && KH * KW === 9) depthwise3x3(x, xAt, w, OC, bias, y, at);
      else
        for (let c = 0; c < OC; c++) {
          let acc = bias ? bias[c] : 0;
          const ic = m === 1 ? c : Math.floor(c / m);
          for (let t = 0; t < taps; t++) acc += x[xAt[t] + ic] * w[wAt[t] + c];
          y[at + c] = acc;
        }
    }
  return y;
}

/** One output pixel of a 3×3 depthwise convolution whose nine taps (input offsets xAt) are all inside the input. */
function depthwise3x3(x: F, xAt: Int32Array, w: F, C: number, bias: F | undefined, y: F, at: number): void {
  const x0 = xAt[0];
  const x1 = xAt[1];
  const x2 = xAt[2];
  const x3 = xAt[3];
  const x4 = xAt[4];
  const x5 = xAt[5];
  const x6 = xAt[6];
  const x7 = xAt[7];
  const x8 = xAt[8];
  const w2 = 2 * C;
  const w3 = 3 * C;
  const w4 = 4 * C;
  const w5 = 5 * C;
  const w6 = 6 * C;
  const w7 = 7 * C;
  const w8 = 8 * C;
  for (let c = 0; c < C; c++) {
    let acc = bias ? bias[c] : 0;
    acc += x[x0 + c] * w[c];
    acc += x[x1 + c] * w[C + c];
    acc += x[x2 + c] * w[w2 + c];
    acc += x[x3 + c] * w[w3 + c];
    acc += x[x4 + c] * w[w4 + c];
    acc += x[x5 + c] * w[w5 + c];
    acc += x[x6 + c] * w[w6 + c];
    acc += x[x7 + c] * w[w7 + c];
    acc += x[x8 + c] * w[w8 + c];
    y[at + c] = acc;
  }
}
