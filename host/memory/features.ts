// What a model costs in a board's RAM depends on a few counts the host reads from the blob: the arena (one
// buffer), the ops (one prepared record each), the requantized channels (for the native dot products, one view
// per weight row), the multipliers (per-channel requantization constants, prepared at load), the tensors (one record each) and, on an engine that cannot
// read the blob in place, the blob itself, and the output's values (Lua returns them in a table of their own). The
// cost model (cost-model.ts) weighs them per engine.

import type { QModel } from '../ir/qmodel';
import { numel } from '../ir/shape';

export const FEATURES = ['arenaBytes', 'ops', 'channels', 'multipliers', 'tensors', 'blobBytes', 'outputs'] as const;
export type Feature = (typeof FEATURES)[number];
export type Features = Record<Feature, number>;

const REQUANTIZED = new Set(['FULLY_CONNECTED', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'TRANSPOSE_CONV']);

export function memoryFeatures(model: QModel, blobBytes: number): Features {
  let channels = 0;
  let multipliers = 0;
  for (const op of model.ops) {
    if (!REQUANTIZED.has(op.opcode)) continue;
    const shape = model.tensors[op.outputs[0]].shape;
    channels += shape[shape.length - 1];
    multipliers += (op.options as { output_multiplier: number[] }).output_multiplier.length;
  }
  return {
    arenaBytes: model.arenaBytes,
    ops: model.ops.length,
    channels,
    multipliers,
    tensors: model.tensors.length,
    blobBytes,
    outputs: numel(model.tensors[model.outputs[0]].shape),
  };
}
