// ADD / SUB (TFLite int8): rescale both inputs to a common base shifted left by left_shift, combine, requantize.

import { mbqm, POW2 } from '../fixedpoint';
import {
  ArithmeticOptions_activation_max,
  ArithmeticOptions_activation_min,
  ArithmeticOptions_input1_multiplier,
  ArithmeticOptions_input1_offset,
  ArithmeticOptions_input1_shift,
  ArithmeticOptions_input2_multiplier,
  ArithmeticOptions_input2_offset,
  ArithmeticOptions_input2_shift,
  ArithmeticOptions_left_shift,
  ArithmeticOptions_output_multiplier,
  ArithmeticOptions_output_offset,
  ArithmeticOptions_output_shift,
  Options_ArithmeticOptions,
} from '../format/layout';
import { badOptions } from '../format/reader';
import { checkBounds, int32s, needOptions, type OpContext, type OpRegistration, optI32 } from '../op';
import { type BinaryData, broadcastRows, prepareBinary } from './broadcast';

function prepareArithmetic(ctx: OpContext, subtract: boolean): BinaryData {
  needOptions(ctx, Options_ArithmeticOptions);
  const p = prepareBinary(
    ctx,
    optI32(ctx, ArithmeticOptions_input1_offset, 0),
    optI32(ctx, ArithmeticOptions_input2_offset, 0),
    optI32(ctx, ArithmeticOptions_output_offset, 0),
    optI32(ctx, ArithmeticOptions_activation_min, -128),
    optI32(ctx, ArithmeticOptions_activation_max, 127),
    int32s([
      optI32(ctx, ArithmeticOptions_input1_multiplier, 0),
      optI32(ctx, ArithmeticOptions_input2_multiplier, 0),
      optI32(ctx, ArithmeticOptions_output_multiplier, 0),
    ]),
    int32s([
      optI32(ctx, ArithmeticOptions_input1_shift, 0),
      optI32(ctx, ArithmeticOptions_input2_shift, 0),
      optI32(ctx, ArithmeticOptions_output_shift, 0),
    ]),
  );
  p.leftShift = optI32(ctx, ArithmeticOptions_left_shift, 0);
  p.subtract = subtract;
  if (!(p.leftShift >= 0 && p.leftShift <= 20 && p.inZp >= -127 && p.inZp <= 128 && p.inZp2 >= -127 && p.inZp2 <= 128))
    badOptions(ctx.index, 'offsets');
  for (let k = 0; k < 3; k++)
    if (!(p.shift[k] >= -31 && p.shift[k] <= 0 && p.mult[k] >= 0)) badOptions(ctx.index, 'multipliers');
  checkBounds(ctx, p.actMin, p.actMax);
  return p;
}

function prepareAdd(ctx: OpContext): BinaryData {
  return prepareArithmetic(ctx, false);
}

function prepareSub(ctx: OpContext): BinaryData {
  return prepareArithmetic(ctx, true);
}

function evalArithmetic(p: BinaryData): void {
  broadcastRows(p, arithmeticRows);
}

/** One innermost run of the broadcast (kernels/broadcast.ts). */
function arithmeticRows(
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
    sh = POW2[p.leftShift],
    subtract = p.subtract,
    single = p.single,
    yo = p.yOff;
  aAt += p.xOff;
  bAt += p.x2Off;
  let m = p.mult,
    s = p.shift,
    zpA = p.inZp,
    zpB = p.inZp2,
    zpY = p.outZp,
    lo = p.actMin,
    hi = p.actMax;
  for (let i = 0; i < n; i++) {
    let s1 = mbqm((a[aAt] + zpA) * sh, m[0], s[0], single);
    let s2 = mbqm((b[bAt] + zpB) * sh, m[1], s[1], single);
    let v = mbqm(subtract ? s1 - s2 : s1 + s2, m[2], s[2], single) + zpY;
    y[yo + yAt + i] = v < lo ? lo : v > hi ? hi : v;
    aAt += aStep;
    bAt += bStep;
  }
}

export const ADD: OpRegistration = { prepare: prepareAdd, eval: evalArithmetic };
export const SUB: OpRegistration = { prepare: prepareSub, eval: evalArithmetic };
