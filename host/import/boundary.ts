// Data at the model's boundary in the source model's own layout (issue 15.0): an ONNX model's 4-D inputs and outputs
// are NCHW to its user (a tensor that works in PyTorch works in Morsel), while the graph stores them NHWC. The
// importer lists those tensors in `graph.meta.nhwcFromNchw`; these functions move data across that boundary.

import { type Graph, ModelError, numel, tensor } from '../ir/graph';

const storedNhwc = (g: Graph, name: string) => (g.meta.nhwcFromNchw ?? '').split(',').includes(name);

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
  const [, H, W, C] = shape;
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++)
    for (let p = 0; p < H * W; p++) {
      if (toStored) out[p * C + c] = data[c * H * W + p];
      else out[c * H * W + p] = data[p * C + c];
    }
  return out;
}
