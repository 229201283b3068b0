// Data at the model's boundary in the source model's own layout (issue 15.0): an ONNX model's 4-D inputs and outputs
// are NCHW (and those of 1-D convolutions and pooling NCL) to its user, a tensor that works in PyTorch works in
// Morsel, while the graph and the blob store them channels-last (NHWC, NLC). The importer lists those tensors in
// `graph.meta.nhwcFromNchw` and `graph.meta.nlcFromNcl`; the compiler records the input's and output's source layout
// at the end of the blob's producer string (`producerNote`), so that `run` maps a blob's data without its model file.

import { type Graph, ModelError, numel, tensor } from '../ir/graph';
import type { QModel } from '../ir/qmodel';

/** The layout a user holds a tensor in when the graph stores it channels-last; undefined: as stored. */
export type SourceLayout = 'NCHW' | 'NCL' | undefined;

const listed = (list: string | undefined, name: string) => (list ?? '').split(',').includes(name);

/** The source layout of a graph input or output. */
export function sourceLayoutOf(g: Graph, name: string): SourceLayout {
  if (listed(g.meta.nhwcFromNchw, name)) return 'NCHW';
  return listed(g.meta.nlcFromNcl, name) ? 'NCL' : undefined;
}

/** A stored shape ([1, H, W, C] / [1, …, L, C]) as its user holds it ([1, C, H, W] / [1, C, L]). */
export function sourceShapeOf(stored: readonly number[], layout: SourceLayout): number[] {
  const C = stored[stored.length - 1];
  if (layout === 'NCHW') return [stored[0], C, stored[1], stored[2]];
  if (layout === 'NCL') return [stored[0], C, numel(stored) / stored[0] / C];
  return [...stored];
}

/** A graph input's or output's shape as the source model's user holds it. */
export const sourceShape = (g: Graph, name: string): number[] =>
  sourceShapeOf(tensor(g, name).shape, sourceLayoutOf(g, name));

/** `data` in the source layout → the graph's stored order. */
export function toStoredLayout(g: Graph, name: string, data: Float32Array): Float32Array {
  return moveChannels(sourceLayoutOf(g, name), tensor(g, name).shape, Float32Array.from(data), true, name);
}

/** `data` in the graph's stored order → the source layout the model's user reads. */
export function fromStoredLayout(g: Graph, name: string, data: ArrayLike<number>): Float32Array {
  return moveChannels(sourceLayoutOf(g, name), tensor(g, name).shape, Float32Array.from(data), false, name);
}

/**
 * Source layout ↔ stored order of one tensor's values (float or int8): the stored order is [1, …spatial, C], the
 * source's [1, C, …spatial].
 */
export function moveChannels<T extends Float32Array | Int8Array>(
  layout: SourceLayout,
  stored: readonly number[],
  data: T,
  toStored: boolean,
  what: string,
): T {
  if (data.length !== numel(stored))
    throw new ModelError(
      `'${what}' needs ${numel(stored)} values [${sourceShapeOf(stored, layout)}], got ${data.length}`,
    );
  if (!layout) return data;
  const C = stored[stored.length - 1];
  const P = data.length / C;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let c = 0; c < C; c++)
    for (let p = 0; p < P; p++) {
      if (toStored) out[p * C + c] = data[c * P + p];
      else out[c * P + p] = data[p * C + c];
    }
  return out;
}

const NOTE = /; source layout: input (NCHW|NCL|as stored), output (NCHW|NCL|as stored)$/;

/** What the compiler appends to a blob's producer: the source layouts of its input and output, when not as stored. */
export function producerNote(g: Graph): string {
  const [input, output] = [sourceLayoutOf(g, g.inputs[0]), sourceLayoutOf(g, g.outputs[0])];
  return input || output ? `; source layout: input ${input ?? 'as stored'}, output ${output ?? 'as stored'}` : '';
}

/** A blob's input and output source layouts, from its producer's note. */
export function blobLayouts(model: QModel): { input: SourceLayout; output: SourceLayout } {
  const m = NOTE.exec(model.producer);
  const layout = (s: string | undefined) => (s === 'NCHW' || s === 'NCL' ? s : undefined);
  return { input: layout(m?.[1]), output: layout(m?.[2]) };
}
