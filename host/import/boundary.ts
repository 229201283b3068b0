// Data at the model's boundary in the source model's own layout (issue 15.0): an ONNX model's 4-D inputs and outputs
// are NCHW (and 1-D maps NCL) to its user (a tensor that works in PyTorch works in Morsel), while the graph stores them NHWC. The
// importer lists those tensors in `graph.meta.nhwcFromNchw` (and `nlcFromNcl`); these functions move data across that
// boundary.

import { type Graph, ModelError, numel, tensor } from '../ir/graph';

const listed = (list: string | undefined, name: string) => (list ?? '').split(',').includes(name);
const storedNhwc = (g: Graph, name: string) => listed(g.meta.nhwcFromNchw, name) || listed(g.meta.nlcFromNcl, name);

/** A graph input's or output's shape as the source model's user holds it ([N, C, H, W] / [N, C, L] where listed). */
export function sourceShape(g: Graph, name: string): number[] {
  const stored = tensor(g, name).shape;
  if (listed(g.meta.nhwcFromNchw, name)) return [stored[0], stored[3], stored[1], stored[2]];
  const C = stored[stored.length - 1];
  if (listed(g.meta.nlcFromNcl, name)) return [stored[0], C, numel(stored) / stored[0] / C];
  return [...stored];
}

/** `data` in the source layout (NCHW for a listed tensor) → the graph's stored order (NHWC). */
export function toStoredLayout(g: Graph, name: string, data: Float32Array): Float32Array {
  return moveChannels(g, name, data, true);
}

/** `data` in the graph's stored order → the source layout the model's user reads (NCHW for a listed tensor). */
export function fromStoredLayout(g: Graph, name: string, data: ArrayLike<number>): Float32Array {
  return moveChannels(g, name, data, false);
}

function moveChannels(g: Graph, name: string, data: ArrayLike<number>, toStored: boolean): Float32Array {
  const shape = tensor(g, name).shape;
  if (data.length !== numel(shape))
    throw new ModelError(`'${name}' needs ${numel(shape)} values [${shape}], got ${data.length}`);
  if (!storedNhwc(g, name)) return Float32Array.from(data);
  // Stored [1, ...spatial, C] (NHWC, or [1, L, C] of a 1-D map); the source has [1, C, ...spatial].
  const C = shape[shape.length - 1];
  const P = data.length / C;
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++)
    for (let p = 0; p < P; p++) {
      if (toStored) out[p * C + c] = data[c * P + p];
      else out[c * P + p] = data[p * C + c];
    }
  return out;
}
