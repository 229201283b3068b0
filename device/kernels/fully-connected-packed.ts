// FULLY_CONNECTED with packed or sparse weights (kernels/packed-weights.ts): the same arithmetic as
// fullyConnected, over the nonzero weights only, rows in order (packedRowDot).

import { requantize } from '../fixedpoint';
import type { FullyConnectedData } from './fully-connected';
import { packedReset, packedRow, packedRowDot } from './packed-weights';

export function fullyConnectedPacked(d: FullyConnectedData): void {
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
