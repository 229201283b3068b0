import type { MirrorPadMode } from '../../ir/graph';
import { numel } from '../../ir/shape';

/** MirrorPadOptions.mode of each IR mode (schema/morsel.fbs). */
export const MIRROR_PAD_MODES: Record<MirrorPadMode, number> = { reflect: 0, symmetric: 1, edge: 2 };

/**
 * MIRROR_PAD (and the float interpreter's mirror_pad): y[o] = x[source(o)], where along each dimension output index o
 * reads input index i = o − before[d], reflected where outside [0, n): REFLECT −i and 2(n−1)−i (TFLite's MIRROR_PAD),
 * SYMMETRIC −i−1 and 2n−1−i (its other mode), EDGE the nearest border index (ONNX Pad 'edge').
 */
export function mirrorPad<T extends Float32Array | Int8Array>(
  x: T,
  inShape: readonly number[],
  y: T,
  outShape: readonly number[],
  before: readonly number[],
  mode: number,
): void {
  const rank = inShape.length;
  for (let o = 0; o < numel(outShape); o++) {
    let at = 0;
    for (let d = 0, rest = o, stride = numel(outShape); d < rank; d++) {
      stride /= outShape[d];
      const i = Math.floor(rest / stride) - before[d];
      rest %= stride;
      const n = inShape[d];
      const shift = mode === MIRROR_PAD_MODES.symmetric ? 1 : 0;
      const j =
        i >= 0 && i < n
          ? i
          : mode === MIRROR_PAD_MODES.edge
            ? Math.min(Math.max(i, 0), n - 1)
            : i < 0
              ? -i - shift
              : 2 * (n - 1) - i + shift;
      at = at * n + j;
    }
    y[o] = x[at];
  }
}
