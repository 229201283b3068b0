import type { GatherStridedOptions } from '../../ir/qmodel';

/** GATHER_STRIDED: y[i_0..i_r] = x[offset + Σ i_d·strides[d]] over the iteration shape, row-major. */
export function gatherStrided(x: Int8Array, y: Int8Array, o: GatherStridedOptions): void {
  const rank = o.shape.length;
  for (let i = 0; i < y.length; i++) {
    let at = o.offset;
    for (let d = rank - 1, rest = i; d >= 0; d--) {
      const c = rest % o.shape[d];
      rest = (rest - c) / o.shape[d];
      at += c * o.strides[d];
    }
    y[i] = x[at];
  }
}
