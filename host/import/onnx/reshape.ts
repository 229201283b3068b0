// The ONNX output shape of Reshape, Flatten, Squeeze and Unsqueeze (on constants and on activation views alike).

import { numel } from '../../ir/graph';
import { normalizeAxis } from './layout';
import type { OnnxNode } from './node';

export function reshapedDims(n: OnnxNode, dims: number[]): number[] {
  const rank = dims.length;
  switch (n.opType) {
    case 'Flatten': {
      const axis = normalizeAxis(n.int('axis', 1), rank + 1, n.where);
      return [numel(dims.slice(0, axis)), numel(dims.slice(axis))];
    }
    case 'Squeeze': {
      const axes = n.axesOf(
        rank,
        dims.flatMap((d, i) => (d === 1 ? [i] : [])),
      );
      for (const a of axes) if (dims[a] !== 1) throw n.error(`cannot squeeze axis ${a} of size ${dims[a]}`);
      return dims.filter((_, i) => !axes.includes(i));
    }
    case 'Unsqueeze': {
      const count = n.ins[1] ? numel(n.needConst(n.ins[1], 'axes').dims) : n.ints('axes', []).length;
      const outRank = rank + count;
      const axes = n.axesOf(outRank, []);
      if (new Set(axes).size !== count) throw n.error(`axes [${axes}] repeat an axis`);
      const rest = [...dims];
      return Array.from({ length: outRank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
    }
    default: {
      const target = n.ins[1] ? Array.from(n.needConst(n.ins[1], 'the Reshape shape').data) : n.ints('shape', []);
      const allowZero = n.int('allowzero', 0);
      const batch = n.cx.batch;
      // A target that spells out the model's own batch (torch's x.view(3, -1)) means batch 1 here.
      const shape = target.map((d, i) =>
        d === 0 && !allowZero ? dims[i] : i === 0 && batch > 1 && d === batch && dims[0] === 1 ? 1 : d,
      );
      const known = numel(shape.filter((d) => d !== -1));
      const total = numel(dims);
      const filled = shape.map((d) => (d === -1 ? total / known : d));
      if (
        shape.filter((d) => d === -1).length > 1 ||
        numel(filled) !== total ||
        filled.some((d) => !Number.isSafeInteger(d) || d < 0)
      ) {
        throw n.error(`cannot reshape [${dims}] to [${target}]`);
      }
      return filled;
    }
  }
}
