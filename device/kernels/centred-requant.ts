// The requantization REDUCE, MEAN and LAYER_NORM share: their op data holds one CentredRequant, read and checked
// here (a module of its own, so bundles without those ops leave it out).

import { type OpContext, optI32 } from '../op';

/**
 * The requantization of an op that sums zero-centred int8 values (REDUCE, LAYER_NORM): one multiplier and shift,
 * y = clamp(MBQM(acc) + outZp) with acc summed from x − inZp.
 */
export interface CentredRequant {
  inZp: number;
  outZp: number;
  mult: number;
  shift: number;
  single: boolean;
}

/** Reads a CentredRequant from the op's options, its fields at vtable offsets `fields`: inZp, outZp, mult, shift. */
export function readCentredRequant(ctx: OpContext, fields: number[]): CentredRequant {
  return {
    inZp: optI32(ctx, fields[0], 0),
    outZp: optI32(ctx, fields[1], 0),
    mult: optI32(ctx, fields[2], 0),
    shift: optI32(ctx, fields[3], 0),
    single: ctx.single,
  };
}

/** Whether a CentredRequant is one mbqm and the int8 zero points take (a shift of −31..30, a multiplier ≥ 0). */
export function centredRequantValid(q: CentredRequant): boolean {
  return (
    q.shift >= -31 &&
    q.shift <= 30 &&
    q.mult >= 0 &&
    q.inZp >= -128 &&
    q.inZp <= 127 &&
    q.outZp >= -128 &&
    q.outZp <= 127
  );
}
