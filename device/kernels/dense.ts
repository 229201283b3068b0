// What FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D share: their weight and bias tensors, and the dot products
// of rows of weights with an input row (through the engine's native dot product where it has one).

import { failOp } from '../format/reader';
import { TensorType_INT8, TensorType_INT32 } from '../format/layout';
import { DOT_CONVOLVE, DOT_NONE, DOT_S8 } from '../native-dot';
import type { OpContext } from '../op';
import { type Buf, rowViews } from '../platform/api';
import type { PackedWeights } from './packed-weights';

/** An op's weights (int8, in the blob, or packed) and int32 biases, and its native dot product. */
export interface DenseWeights {
  w: Buf;
  wOff: number;
  /** Weights stored packed or sparse (kernels/packed-weights.ts), else null. */
  packed: PackedWeights | null;
  bias: Buf;
  /** Native dot product used by this op (DOT_*); for E.convolve the weight and input rows it can take (platform rowViews). */
  dot: number;
  wRows: any[];
  xRows: any[];
}

const NO_ROWS: any[] = [];

/** Reads and checks inputs 1 and 2 of a weighted op: weights (int8; `packed` when stored so) and biases (int32), both constant. */
export function readDenseWeights(ctx: OpContext, packed: PackedWeights | null): DenseWeights {
  if (ctx.inputs.length !== 3) failOp('OP', ctx.index, 'needs input, weights and bias');
  const wi = ctx.inputs[1],
    bi = ctx.inputs[2],
    w = ctx.tensors[wi],
    bias = ctx.tensors[bi];
  if (w.bufferIndex < 0 || w.type !== TensorType_INT8 || bias.bufferIndex < 0 || bias.type !== TensorType_INT32)
    failOp('OP', ctx.index, 'weights/bias types');
  return {
    w: ctx.data[wi].data,
    wOff: ctx.data[wi].at,
    packed: packed,
    bias: ctx.data[bi].words,
    dot: DOT_NONE,
    wRows: NO_ROWS,
    xRows: NO_ROWS,
  };
}

/**
 * Checks every accumulator, |bias| + 128·Σ|w| (an int8 input reaches −128), within int32: the engines sum in doubles
 * or 64-bit integers and agree with the int32 reference only there. Channel c's weights start at c·rowStep, tapStep
 * apart. Real models pass on the first bound, which reads no weights. Sets the op's work per output (taps).
 */
export function checkAccumulators(
  ctx: OpContext,
  p: DenseWeights,
  rows: number,
  taps: number,
  rowStep: number,
  tapStep: number,
): void {
  const maxW = p.packed === null || p.packed.bits === 8 ? 128 : p.packed.bits === 4 ? 8 : 2;
  for (let c = 0; c < rows; c++) {
    let sum = taps * maxW;
    if (p.packed === null && Math.abs(p.bias[c]) + sum * 128 > 2147483647) {
      sum = 0;
      for (let t = 0; t < taps; t++) sum += Math.abs(p.w[p.wOff + c * rowStep + t * tapStep]);
    }
    if (Math.abs(p.bias[c]) + sum * 128 > 2147483647)
      failOp('ACCUMULATOR', ctx.index, 'channel ' + c + ' overflows int32');
  }
  ctx.work = taps;
}

/** Routes an op's inner dot products through the native one; E.convolve takes arrays, so it gets row views. */
export function useNativeDot(
  p: DenseWeights,
  dot: number,
  wRowLength: number,
  wRows: number,
  x: Buf,
  xOff: number,
  xRowLength: number,
  xRows: number,
): void {
  p.dot = dot;
  if (!ESPRUINO || dot !== DOT_CONVOLVE) return;
  p.wRows = rowViews(p.w, p.wOff, wRowLength, wRows);
  p.xRows = rowViews(x, xOff, xRowLength, xRows);
}

/**
 * acc[o] = bias[o] + Σ_{k<n} x[xb + k]·w[wOff + o·n + k] for o < outs: FULLY_CONNECTED's batch row, or CONV_2D's
 * gathered window. Through the engine's native dot product where it has one (native-dot.ts; E.convolve takes the
 * input as xView, an array of its own, when there is one), else dotRows.
 */
export function denseDots(p: DenseWeights, n: number, outs: number, x: Buf, xb: number, xView: any, acc: Buf): void {
  const dot = p.dot,
    w = p.w,
    wOff = p.wOff,
    bias = p.bias;
  const native = dot === DOT_S8 ? outs : ESPRUINO && dot === DOT_CONVOLVE && xView !== null ? p.wRows.length : 0;
  for (let o = 0; o < native; o++)
    acc[o] =
      bias[o] +
      (ESPRUINO && dot === DOT_CONVOLVE ? E.convolve(p.wRows[o], xView, 0) : dot_s8(w, wOff + o * n, x, xb, n));
  dotRows(w, wOff, n, x, xb, bias, acc, native, outs);
}

/**
 * acc[o] = bias[o] + Σ_{k<n} x[xb + k]·w[wOff + o·n + k] for o from `from` to `to` (exclusive): four rows per pass
 * share every read of x (one multiply-add per weight), then the rest one by one. FULLY_CONNECTED's outputs, and
 * CONV_2D's channels over a gathered window.
 */
export function dotRows(
  w: Buf,
  wOff: number,
  n: number,
  x: Buf,
  xb: number,
  bias: Buf,
  acc: Buf,
  from: number,
  to: number,
): void {
  // k runs over x itself, so row i's weight is at (its start − xb) + k: no addition for x's index.
  const xEnd = xb + n;
  let o = from;
  for (; o + 3 < to; o += 4) {
    const d0 = wOff + o * n - xb,
      d1 = d0 + n,
      d2 = d1 + n,
      d3 = d2 + n;
    let a0 = bias[o],
      a1 = bias[o + 1],
      a2 = bias[o + 2],
      a3 = bias[o + 3];
    for (let k = xb; k < xEnd; k++) {
      const xk = x[k];
      a0 += xk * w[d0 + k];
      a1 += xk * w[d1 + k];
      a2 += xk * w[d2 + k];
      a3 += xk * w[d3 + k];
    }
    acc[o] = a0;
    acc[o + 1] = a1;
    acc[o + 2] = a2;
    acc[o + 3] = a3;
  }
  for (; o < to; o++) {
    const d0 = wOff + o * n - xb;
    let a = bias[o];
    for (let k = xb; k < xEnd; k++) a += x[k] * w[d0 + k];
    acc[o] = a;
  }
}
