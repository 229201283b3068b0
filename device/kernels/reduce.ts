// REDUCE over `count` values `inner` apart, for each of outer·inner outputs: the host arranges the reduced axes to be
// one contiguous block of the stored order (a GATHER_STRIDED before, where they are not). MEAN is TFLite's int8 Mean
// (the one MEAN kernel computes over H·W) on any axes: MBQM of the zero-centred sum, then divided by the count
// rounding half away from zero; SUM is MBQM of the zero-centred sum; MAX keeps the input's quantization.

import { mbqm } from '../fixedpoint';
import { type CentredRequant, centredRequantValid, readCentredRequant } from './centred-requant';
import {
  Options_ReduceOptions,
  ReduceOptions_count,
  ReduceOptions_inner,
  ReduceOptions_input_zero_point,
  ReduceOptions_multiplier,
  ReduceOptions_outer,
  ReduceOptions_output_zero_point,
  ReduceOptions_reducer,
  ReduceOptions_shift,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { type Buf, floor } from '../platform/api';

export const REDUCE_MEAN = 0;
const REDUCE_SUM = 1;
const REDUCE_MAX = 2;

export interface ReduceData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  reducer: number;
  outer: number;
  count: number;
  inner: number;
  /** MEAN and SUM only. */
  rq: CentredRequant;
}

/** The op data of a reduction of the op's input into its output (REDUCE, and MEAN over H·W). */
export function reduceData(
  ctx: OpContext,
  reducer: number,
  outer: number,
  count: number,
  inner: number,
  rq: CentredRequant,
): ReduceData {
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  return {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    reducer: reducer,
    outer: outer,
    count: count,
    inner: inner,
    rq: rq,
  };
}

function prepareReduce(ctx: OpContext): ReduceData {
  needOptions(ctx, Options_ReduceOptions);
  const oi = ctx.index;
  const p = reduceData(
    ctx,
    optI32(ctx, ReduceOptions_reducer, 0),
    optI32(ctx, ReduceOptions_outer, 0),
    optI32(ctx, ReduceOptions_count, 0),
    optI32(ctx, ReduceOptions_inner, 0),
    readCentredRequant(ctx, [
      ReduceOptions_input_zero_point,
      ReduceOptions_output_zero_point,
      ReduceOptions_multiplier,
      ReduceOptions_shift,
    ]),
  );
  if (!(p.reducer >= REDUCE_MEAN && p.reducer <= REDUCE_MAX)) badOptions(oi, 'reducer ' + p.reducer);
  if (!(p.outer >= 1 && p.count >= 1 && p.inner >= 1)) badOptions(oi, 'reduce geometry');
  if (p.outer * p.count * p.inner !== inputInfo(ctx, 0).count || p.outer * p.inner !== outputInfo(ctx).count)
    badShape(oi, 'reduce geometry does not match its tensors');
  // The zero-centred sum stays within int32 (|x − zp| ≤ 255), as the int32 reference's does.
  if (p.count > 8388607) badShape(oi, 'reduces more than 2^23 values');
  // Per output: a reduction over `count` values (the verifier's work limit).
  ctx.work = p.count;
  if (p.reducer !== REDUCE_MAX && !centredRequantValid(p.rq)) badOptions(oi, 'reduce parameters');
  return p;
}

export function evalReduce(p: ReduceData): void {
  const x = p.x,
    y = p.y,
    n = p.count,
    inner = p.inner,
    half = floor(n / 2),
    rq = p.rq,
    inZp = rq.inZp,
    reducer = p.reducer;
  let to = p.yOff;
  for (let o = 0; o < p.outer; o++) {
    const base = p.xOff + o * n * inner;
    for (let i = 0; i < inner; i++) {
      let v: number;
      if (reducer === REDUCE_MAX) {
        v = -128;
        for (let r = 0; r < n; r++) {
          const e = x[base + r * inner + i];
          if (e > v) v = e;
        }
      } else {
        let acc = 0;
        for (let r = 0; r < n; r++) acc += x[base + r * inner + i] - inZp;
        acc = mbqm(acc, rq.mult, rq.shift, rq.single);
        if (reducer === REDUCE_MEAN) acc = acc > 0 ? floor((acc + half) / n) : -floor((half - acc) / n);
        v = acc + rq.outZp;
        v = v < -128 ? -128 : v > 127 ? 127 : v;
      }
      y[to + i] = v;
    }
    to += inner;
  }
}

export const REDUCE: OpRegistration = { prepare: prepareReduce, eval: evalReduce };
