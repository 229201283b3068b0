/**
 * TFLite's nearest source index (TFLM's GetNearestNeighbor, in float32 as TFLM computes it) of each of `outSize`
 * outputs along an axis of `inSize` inputs, under RESIZE_NEAREST_NEIGHBOR's align_corners and half_pixel_centers.
 */
export function tfliteNearestSources(inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean) {
  const f = Math.fround;
  const scale = alignCorners && outSize > 1 ? f(f(inSize - 1) / f(outSize - 1)) : f(f(inSize) / f(outSize));
  const offset = halfPixel ? 0.5 : 0;
  return Array.from({ length: outSize }, (_, o) => {
    const at = f(f(o + offset) * scale);
    // TfLiteRound rounds half away from zero; `at` is never negative.
    const i = Math.min(alignCorners ? Math.floor(at + 0.5) : Math.floor(at), inSize - 1);
    return halfPixel ? Math.max(0, i) : i;
  });
}

/** The source row of each output row and the source column of each output column of an NHWC resize. */
export function tfliteNearestMaps(
  inShape: readonly number[],
  outShape: readonly number[],
  alignCorners: boolean,
  halfPixel: boolean,
): { rows: number[]; cols: number[] } {
  return {
    rows: tfliteNearestSources(inShape[1], outShape[1], alignCorners, halfPixel),
    cols: tfliteNearestSources(inShape[2], outShape[2], alignCorners, halfPixel),
  };
}

/** RESIZE_NEAREST_NEIGHBOR (and the float interpreter's resize_nearest): y[0,i,j,:] = x[0,rows[i],cols[j],:], NHWC. */
export function resizeNearest<T extends Float32Array | Int8Array>(
  x: T,
  inShape: readonly number[],
  y: T,
  rows: readonly number[],
  cols: readonly number[],
): void {
  const [, , W, C] = inShape;
  let at = 0;
  for (const r of rows)
    for (const c of cols) {
      y.set(x.subarray((r * W + c) * C, (r * W + c + 1) * C), at);
      at += C;
    }
}
