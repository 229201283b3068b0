// FULLY_CONNECTED with packed or sparse weights (kernels/packed-weights.ts): the same arithmetic as
// fullyConnected, over the nonzero weights only, rows in order (packedRowDot).

import { requantize } from '../fixedpoint';
import type { OpContext, OpRegistration } from '../op';
import { evalFullyConnected, type FullyConnectedData, prepareFullyConnectedWith } from './fully-connected';
import { packedInput, packedReset, packedRow, packedRowDot } from './packed-weights';

function fullyConnectedPacked(d: FullyConnectedData): void {
  let w = d.weights.packed!,
    x = d.x,
    y = d.y,
    bias = d.weights.bias,
    depth = d.depth,
    outs = d.outs;
  packedReset(w);
  for (let o = 0; o < outs; o++) {
    packedRow(w, o);
    for (let b = 0; b < d.batches; b++) {
      y[d.yOff + b * outs + o] = requantize(bias[o] + packedRowDot(w, x, d.xOff + b * depth), d.rq, o);
    }
  }
}

function prepareFullyConnectedPacked(ctx: OpContext): FullyConnectedData {
  return prepareFullyConnectedWith(ctx, packedInput(ctx, 1));
}

function evalFullyConnectedPacked(d: FullyConnectedData): void {
  if (d.weights.packed !== null) fullyConnectedPacked(d);
  else evalFullyConnected(d);
}

/** FULLY_CONNECTED over dense, packed or sparse weights. */
export const FULLY_CONNECTED_PACKED: OpRegistration = {
  prepare: prepareFullyConnectedPacked,
  eval: evalFullyConnectedPacked,
  packedWeights: true,
};
