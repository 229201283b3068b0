// CONCATENATION along one axis: every input shares the output's quantization, so bytes are copied. For each
// index of the dimensions before the axis ("outer"), each input contributes one run of (its size along the
// axis)·(the size of the dimensions after it) bytes.

import { ConcatenationOptions_axis, Options_ConcatenationOptions, TensorType_INT8 } from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import type { Buf } from '../platform/api';

interface ConcatenationData {
  /** Each input's data, offset and run (its size along the axis times the inner size). */
  xs: Buf[];
  xOffs: number[];
  runs: number[];
  y: Buf;
  yOff: number;
  /** The product of the dimensions before the axis. */
  outer: number;
}

function prepareConcatenation(ctx: OpContext): ConcatenationData {
  needOptions(ctx, Options_ConcatenationOptions);
  const oi = ctx.index,
    y = ctx.data[ctx.output];
  let ys = outputInfo(ctx).shape,
    rank = ys.length;
  let axis = optI32(ctx, ConcatenationOptions_axis, 0);
  if (!(axis >= 0 && axis < rank)) badOptions(oi, 'concatenation axis ' + axis + ' outside 0..' + (rank - 1));
  let inner = 1,
    outer = 1;
  for (let d = 0; d < rank; d++) {
    if (d < axis) outer *= ys[d];
    if (d > axis) inner *= ys[d];
  }
  const p: ConcatenationData = { xs: [], xOffs: [], runs: [], y: y.data, yOff: y.at, outer: outer };
  let total = 0,
    ok = true;
  for (let k = 0; k < ctx.inputs.length; k++) {
    let ti = ctx.inputs[k],
      t = ctx.tensors[ti];
    ok = ok && t.type === TensorType_INT8 && t.shape.length === rank;
    for (let e = 0; e < rank; e++) ok = ok && (e === axis || t.shape[e] === ys[e]);
    p.xs.push(ctx.data[ti].data);
    p.xOffs.push(ctx.data[ti].at);
    p.runs.push(t.shape[axis] * inner);
    total += t.shape[axis];
  }
  if (!ok || total !== ys[axis]) badShape(oi, 'inputs do not concatenate along axis ' + axis);
  return p;
}

function evalConcatenation(p: ConcatenationData): void {
  let xs = p.xs,
    xOffs = p.xOffs,
    runs = p.runs,
    y = p.y,
    inputs = xs.length,
    at = p.yOff;
  for (let o = 0; o < p.outer; o++) {
    for (let k = 0; k < inputs; k++) {
      let x = xs[k],
        run = runs[k],
        from = xOffs[k] + o * run;
      for (let i = 0; i < run; i++) y[at + i] = x[from + i];
      at += run;
    }
  }
}

export const CONCATENATION: OpRegistration = { prepare: prepareConcatenation, eval: evalConcatenation };
