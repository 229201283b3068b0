// RESHAPE: bytes unchanged; the planner usually aliases input and output so this copies nothing.

import type { OpContext, OpRegistration } from '../op';
import { sameCount } from '../op';
import type { Buf } from '../platform/api';

interface ReshapeData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  count: number;
}

function prepareReshape(ctx: OpContext): ReshapeData {
  const count = sameCount(ctx, 'reshape'),
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  return { x: x.data, xOff: x.at, y: y.data, yOff: y.at, count: count };
}

function evalReshape(p: ReshapeData): void {
  const x = p.x,
    y = p.y,
    n = p.count,
    xo = p.xOff,
    yo = p.yOff;
  if (xo === yo) return;
  for (let i = 0; i < n; i++) y[yo + i] = x[xo + i];
}

export const RESHAPE: OpRegistration = { prepare: prepareReshape, eval: evalReshape };
