// MAXIMUM and MINIMUM (TFLite int8, reference_ops::MaximumMinimumBroadcastSlow): the larger (smaller) int8 value,
// both inputs on the output's scale and zero point (the host requantizes them there first); 4-D broadcast.

import { failOp } from '../format/reader';
import { inputInfo, type OpContext, type OpRegistration, outputInfo } from '../op';
import { newInt32 } from '../platform/api';
import { type BinaryData, broadcastRows, prepareBinary } from './broadcast';

function prepareMaximumMinimum(ctx: OpContext, subtract: boolean): BinaryData {
  const y = outputInfo(ctx);
  for (let k = 0; k < 2; k++) {
    const x = inputInfo(ctx, k);
    if (x.scale !== y.scale || x.zeroPoint !== y.zeroPoint)
      failOp('OP', ctx.index, 'input ' + (k + 1) + " is not on the output's scale and zero point");
  }
  const p = prepareBinary(ctx, 0, 0, 0, -128, 127, newInt32(0), newInt32(0));
  // The flag ADD and SUB share tells MINIMUM (true) from MAXIMUM.
  p.subtract = subtract;
  return p;
}

function prepareMaximum(ctx: OpContext): BinaryData {
  return prepareMaximumMinimum(ctx, false);
}

function prepareMinimum(ctx: OpContext): BinaryData {
  return prepareMaximumMinimum(ctx, true);
}

function evalMaximumMinimum(p: BinaryData): void {
  broadcastRows(p, maximumMinimumRows);
}

/** One innermost run of the broadcast (kernels/broadcast.ts). */
function maximumMinimumRows(
  p: BinaryData,
  aAt: number,
  aStep: number,
  bAt: number,
  bStep: number,
  yAt: number,
  n: number,
): void {
  let a = p.x,
    b = p.x2,
    y = p.y,
    yo = p.yOff + yAt,
    min = p.subtract;
  aAt += p.xOff;
  bAt += p.x2Off;
  for (let i = 0; i < n; i++) {
    const u = a[aAt],
      v = b[bAt];
    y[yo + i] = (min ? u > v : u < v) ? v : u;
    aAt += aStep;
    bAt += bStep;
  }
}

export const MAXIMUM: OpRegistration = { prepare: prepareMaximum, eval: evalMaximumMinimum };
export const MINIMUM: OpRegistration = { prepare: prepareMinimum, eval: evalMaximumMinimum };
