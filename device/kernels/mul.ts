// MUL (TFLite int8, reference_integer_ops::MulElementwise): y = clamp(MBQM((a + off1)·(b + off2)) + off_out).

import { mbqm } from '../fixedpoint';
import {
  MulOptions_activation_max,
  MulOptions_activation_min,
  MulOptions_input1_offset,
  MulOptions_input2_offset,
  MulOptions_output_multiplier,
  MulOptions_output_offset,
  MulOptions_output_shift,
  Options_MulOptions,
} from '../format/layout';
import { badOptions } from '../format/reader';
import { checkBounds, int32s, needOptions, type OpContext, type OpRegistration, optI32 } from '../op';
import { type BinaryData, broadcastRows, prepareBinary } from './broadcast';

function prepareMul(ctx: OpContext): BinaryData {
  needOptions(ctx, Options_MulOptions);
  const p = prepareBinary(
    ctx,
    optI32(ctx, MulOptions_input1_offset, 0),
    optI32(ctx, MulOptions_input2_offset, 0),
    optI32(ctx, MulOptions_output_offset, 0),
    optI32(ctx, MulOptions_activation_min, -128),
    optI32(ctx, MulOptions_activation_max, 127),
    int32s([optI32(ctx, MulOptions_output_multiplier, 0)]),
    int32s([optI32(ctx, MulOptions_output_shift, 0)]),
  );
  if (!(p.inZp >= -127 && p.inZp <= 128 && p.inZp2 >= -127 && p.inZp2 <= 128))
    badOptions(ctx.index, 'input offsets outside -127..128');
  if (!(p.shift[0] >= -31 && p.shift[0] <= 30 && p.mult[0] >= 0))
    badOptions(ctx.index, 'shift/multiplier out of range');
  checkBounds(ctx, p.actMin, p.actMax);
  return p;
}

function evalMul(p: BinaryData): void {
  broadcastRows(p, mulRows);
}

/** One innermost run of the broadcast (kernels/broadcast.ts). */
function mulRows(p: BinaryData, aAt: number, aStep: number, bAt: number, bStep: number, yAt: number, n: number): void {
  let a = p.x,
    b = p.x2,
    y = p.y,
    m = p.mult[0],
    s = p.shift[0],
    yo = p.yOff,
    single = p.single;
  aAt += p.xOff;
  bAt += p.x2Off;
  let zpA = p.inZp,
    zpB = p.inZp2,
    zpY = p.outZp,
    lo = p.actMin,
    hi = p.actMax;
  for (let i = 0; i < n; i++) {
    let v = mbqm((a[aAt] + zpA) * (b[bAt] + zpB), m, s, single) + zpY;
    y[yo + yAt + i] = v < lo ? lo : v > hi ? hi : v;
    aAt += aStep;
    bAt += bStep;
  }
}

export const MUL: OpRegistration = { prepare: prepareMul, eval: evalMul };
