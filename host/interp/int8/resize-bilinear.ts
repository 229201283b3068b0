import type { Rounding } from '../../quantize/fixedpoint';

/**
 * TFLite's integer bilinear taps along an axis (ComputeInterpolationValuesInteger with TFLM's 10-bit scale): for each
 * of `outSize` outputs, its lower and upper source index and the upper one's weight of 1024, as [lo, hi, w] triples.
 * C++'s integer division truncates toward zero, so Math.trunc.
 */
export function tfliteBilinearTaps(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean) {
  const scale =
    alignCorners && outSize > 1
      ? Math.trunc((1024 * (inSize - 1) + Math.trunc((outSize - 1) / 2)) / (outSize - 1))
      : Math.trunc((1024 * inSize + Math.trunc(outSize / 2)) / outSize);
  const taps: number[] = [];
  for (let o = 0; o < outSize; o++) {
    const at = halfPixel ? o * scale + Math.trunc(scale / 2) - 512 : o * scale;
    const lo = Math.max(Math.trunc(at / 1024), 0);
    taps.push(lo, Math.min(Math.trunc((at + 1023) / 1024), inSize - 1), at - 1024 * lo);
  }
  return taps;
}

/** RESIZE_BILINEAR as TFLite's reference_ops::ResizeBilinearInteger, NHWC, batch 1, taps from tfliteBilinearTaps. */
export function resizeBilinearInt8(
  x: Int8Array,
  inShape: readonly number[],
  y: Int8Array,
  rows: readonly number[],
  cols: readonly number[],
  rounding: Rounding,
): void {
  const [, , W, C] = inShape;
  let at = 0;
  for (let i = 0; i < rows.length; i += 3)
    for (let j = 0; j < cols.length; j += 3) {
      const [y0, y1, wy] = [rows[i], rows[i + 1], rows[i + 2]];
      const [x0, x1, wx] = [cols[j], cols[j + 1], cols[j + 2]];
      for (let c = 0; c < C; c++) {
        const px = (r: number, q: number) => x[(r * W + q) * C + c];
        const v =
          px(y0, x0) * (1024 - wy) * (1024 - wx) +
          px(y1, x0) * wy * (1024 - wx) +
          px(y0, x1) * (1024 - wy) * wx +
          px(y1, x1) * wy * wx;
        y[at++] =
          rounding === 'single'
            ? Math.floor((v + 2 ** 19) / 2 ** 20)
            : Math.trunc((v + (v > 0 ? 1 : -1) * 2 ** 19) / 2 ** 20);
      }
    }
}

/**
 * Float bilinear resize as TFLite's float RESIZE_BILINEAR (and onnxruntime's linear Resize under the matching
 * coordinate transformation): source coordinate (o + ½)·in/out − ½ (half pixel), o·(in−1)/(out−1) (align corners) or
 * o·in/out, its floor clamped at 0 and its ceiling at the last index.
 */
export function resizeBilinearFloat(
  x: Float32Array,
  inShape: readonly number[],
  outShape: readonly number[],
  alignCorners: boolean,
  halfPixel: boolean,
): Float32Array {
  const [, H, W, C] = inShape;
  const [, OH, OW] = outShape;
  const axis = (inSize: number, outSize: number) => {
    const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
    return Array.from({ length: outSize }, (_, o) => {
      const at = Math.max(0, halfPixel ? (o + 0.5) * scale - 0.5 : o * scale);
      const lo = Math.min(Math.floor(at), inSize - 1);
      return { lo, hi: Math.min(lo + 1, inSize - 1), w: Math.min(at - lo, 1) };
    });
  };
  const rows = axis(H, OH);
  const cols = axis(W, OW);
  const y = new Float32Array(OH * OW * C);
  let at = 0;
  for (const r of rows)
    for (const q of cols)
      for (let c = 0; c < C; c++) {
        const px = (i: number, j: number) => x[(i * W + j) * C + c];
        const top = px(r.lo, q.lo) + (px(r.lo, q.hi) - px(r.lo, q.lo)) * q.w;
        const bottom = px(r.hi, q.lo) + (px(r.hi, q.hi) - px(r.hi, q.lo)) * q.w;
        y[at++] = top + (bottom - top) * r.w;
      }
  return y;
}
