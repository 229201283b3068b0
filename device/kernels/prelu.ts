// PRELU (TFLite int8, reference_ops::BroadcastPrelu4DSlow): v = x + input_offset; y = clamp(MBQM(v, 1) for v >= 0,
// else MBQM(v·(alpha + alpha_offset), 2), + output_offset), alpha broadcast to x.

import { mbqm } from '../fixedpoint';
import {
  Options_PreluOptions,
  PreluOptions_alpha_offset,
  PreluOptions_input_offset,
  PreluOptions_output_multiplier_1,
  PreluOptions_output_multiplier_2,
  PreluOptions_output_offset,
  PreluOptions_output_shift_1,
  PreluOptions_output_shift_2,
} from '../format/layout';
import { badOptions } from '../format/reader';
import { int32s, needOptions, type OpContext, type OpRegistration, optI32 } from '../op';
import { type BinaryData, broadcastRows, prepareBinary } from './broadcast';

function preparePrelu(ctx: OpContext): BinaryData {
  needOptions(ctx, Options_PreluOptions);
  const p = prepareBinary(
    ctx,
    optI32(ctx, PreluOptions_input_offset, 0),
    optI32(ctx, PreluOptions_alpha_offset, 0),
    optI32(ctx, PreluOptions_output_offset, 0),
    -128,
    127,
    int32s([optI32(ctx, PreluOptions_output_multiplier_1, 0), optI32(ctx, PreluOptions_output_multiplier_2, 0)]),
    int32s([optI32(ctx, PreluOptions_output_shift_1, 0), optI32(ctx, PreluOptions_output_shift_2, 0)]),
  );
  if (!(p.inZp >= -127 && p.inZp <= 128 && p.inZp2 >= -127 && p.inZp2 <= 128 && p.outZp >= -128 && p.outZp <= 127))
    badOptions(ctx.index, 'offsets outside the int8 range');
  for (let k = 0; k < 2; k++)
    if (!(p.shift[k] >= -31 && p.shift[k] <= 30 && p.mult[k] >= 0))
      badOptions(ctx.index, 'shift/multiplier out of range');
  return p;
}

function evalPrelu(p: BinaryData): void {
  broadcastRows(p, preluRows);
}

/** One innermost run of the broadcast (kernels/broadcast.ts). */
function preluRows(
  p: BinaryData,
  aAt: number,
  aStep: number,
  bAt: number,
  bStep: number,
  yAt: number,
  n: number,
): void {
  let x = p.x,
    alpha = p.x2,
    y = p.y,
    m1 = p.mult[0],
    s1 = p.shift[0],
    m2 = p.mult[1],
    s2 = p.shift[1],
    yo = p.yOff + yAt,
    single = p.single,
    zpX = p.inZp,
    zpA = p.inZp2,
    zpY = p.outZp;
  aAt += p.xOff;
  bAt += p.x2Off;
  for (let i = 0; i < n; i++) {
    const v = x[aAt] + zpX;
    const r = (v >= 0 ? mbqm(v, m1, s1, single) : mbqm(v * (alpha[bAt] + zpA), m2, s2, single)) + zpY;
    y[yo + i] = r < -128 ? -128 : r > 127 ? 127 : r;
    aAt += aStep;
    bAt += bStep;
  }
}

export const PRELU: OpRegistration = { prepare: preparePrelu, eval: evalPrelu };
