// What a model costs in a board's RAM depends on a few counts the host reads from the blob: the arena (one
// buffer), the ops (one prepared record each), the requantized channels (for the native dot products, one view
// per weight row), the multipliers (per-channel requantization constants, prepared at load), the tensors (one record each) and, on an engine that cannot
// read the blob in place, the blob itself. Lua holds the blob and the arena as tables filled from index 0 up,
// whose array part Lua sizes to a power of two: there they cost by the table slots, not by the bytes. The cost
// model (cost-model.ts) weighs them per engine.

import type { QModel } from '../ir/qmodel';

export const FEATURES = [
  'arenaBytes',
  'ops',
  'channels',
  'multipliers',
  'tensors',
  'blobBytes',
  'arenaTableSlots',
] as const;
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
    arenaTableSlots: tableSlots(model.arenaBytes),
  };
}

/** The array part Lua gives a table filled with n values from index 0: the next power of two ≥ n − 1 (key 0 is hashed). */
export function tableSlots(n: number): number {
  return n <= 1 ? 0 : 2 ** Math.ceil(Math.log2(n - 1));
}
