// Element-wise table lookup (LOGISTIC, TANH, QUANTIZE, LEAKY_RELU: the host builds each op's 256-entry int8
// table); safe in place.

import { LutOptions_table, Options_LutOptions } from '../format/layout';
import { badOptions, fieldVector, rdU8 } from '../format/reader';
import { needOptions, type OpContext, type OpRegistration, outputInfo, inputInfo } from '../op';
import type { Buf } from '../platform/api';

interface LookupData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  count: number;
  /** The output for input v at v + 128. */
  table: number[];
}

function prepareLookup(ctx: OpContext): LookupData {
  needOptions(ctx, Options_LutOptions);
  const tv = fieldVector(ctx.blob, ctx.options, LutOptions_table, 1),
    count = outputInfo(ctx).count;
  if (tv === null || tv[1] !== 256 || inputInfo(ctx, 0).count !== count) badOptions(ctx.index, 'lookup table');
  const table: number[] = [];
  for (let i = 0; i < 256; i++) {
    const u = rdU8(ctx.blob, tv![0] + i);
    table.push(u >= 128 ? u - 256 : u);
  }
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  return { x: x.data, xOff: x.at, y: y.data, yOff: y.at, count: count, table: table };
}

function evalLookup(p: LookupData): void {
  const x = p.x,
    y = p.y,
    t = p.table,
    n = p.count,
    xo = p.xOff,
    yo = p.yOff;
  for (let i = 0; i < n; i++) y[yo + i] = t[x[xo + i] + 128];
}

export const LOOKUP: OpRegistration = { prepare: prepareLookup, eval: evalLookup };
