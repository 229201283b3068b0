// Broadcasting for the binary element-wise ops (ADD, SUB, MUL), as TFLite's NdArrayDesc: shapes are right-aligned
// and a dimension of size 1 repeats along the output's. Prepared once at load (like TFLM's Prepare): output
// dimensions of size 1 are dropped and neighbours with the same broadcast pattern merged, leaving at most four
// loops with per-input strides (0 where the input repeats). Same-shape operands become one flat row.

import { TensorType_INT8 } from '../format/layout';
import { badShape, failOp } from '../format/reader';
import { checkBounds, inputInfo, type OpContext, outputInfo } from '../op';
import type { Buf } from '../platform/api';

const BROADCAST_RANK = 4;

/** ADD, SUB and MUL's op data: the operands, the broadcast loops, offsets, bounds and requantization. */
export interface BinaryData {
  x: Buf;
  xOff: number;
  x2: Buf;
  x2Off: number;
  y: Buf;
  yOff: number;
  dims: number[];
  strideA: number[];
  strideB: number[];
  inZp: number;
  inZp2: number;
  outZp: number;
  actMin: number;
  actMax: number;
  single: boolean;
  /** ADD/SUB: both inputs' and the output's multipliers and shifts, the common left shift; MUL: the output's. */
  mult: Buf;
  shift: Buf;
  leftShift: number;
  subtract: boolean;
}

/** Reads and checks a binary op's operands, offsets and bounds, and prepares the broadcast loops of both inputs. */
export function prepareBinary(
  ctx: OpContext,
  inZp: number,
  inZp2: number,
  outZp: number,
  actMin: number,
  actMax: number,
  mult: Buf,
  shift: Buf,
): BinaryData {
  if (ctx.inputs.length !== 2) failOp('OP', ctx.index, 'needs two inputs');
  const b = inputInfo(ctx, 1);
  if (b.type !== TensorType_INT8) failOp('OP', ctx.index, 'input 2 is not int8');
  const x = ctx.data[ctx.inputs[0]],
    x2 = ctx.data[ctx.inputs[1]],
    y = ctx.data[ctx.output];
  const p: BinaryData = {
    x: x.data,
    xOff: x.at,
    x2: x2.data,
    x2Off: x2.at,
    y: y.data,
    yOff: y.at,
    dims: [],
    strideA: [],
    strideB: [],
    inZp: inZp,
    inZp2: inZp2,
    outZp: outZp,
    actMin: actMin,
    actMax: actMax,
    single: ctx.single,
    mult: mult,
    shift: shift,
    leftShift: 0,
    subtract: false,
  };
  prepareBroadcast(p, inputInfo(ctx, 0).shape, b.shape, outputInfo(ctx).shape, ctx.index);
  return p;
}

/** Loop extents and input strides (outermost first, BROADCAST_RANK of each) into p.dims, p.strideA, p.strideB. */
function prepareBroadcast(p: BinaryData, aShape: number[], bShape: number[], yShape: number[], oi: number): void {
  let rank = yShape.length;
  let ok = aShape.length <= rank && bShape.length <= rank;
  // Collected innermost first; aRun/bRun are each input's element count inside the current dimension.
  let dims: number[] = [],
    strideA: number[] = [],
    strideB: number[] = [];
  let aRun = 1,
    bRun = 1;
  for (let d = rank - 1; d >= 0; d--) {
    let yd = yShape[d];
    let ad = d >= rank - aShape.length ? aShape[d - rank + aShape.length] : 1;
    let bd = d >= rank - bShape.length ? bShape[d - rank + bShape.length] : 1;
    ok = ok && (ad === yd || ad === 1) && (bd === yd || bd === 1) && (yd === 1 || ad === yd || bd === yd);
    if (yd > 1) {
      let sa = ad === 1 ? 0 : aRun,
        sb = bd === 1 ? 0 : bRun,
        last = dims.length - 1;
      if (last >= 0 && (strideA[last] === 0) === (sa === 0) && (strideB[last] === 0) === (sb === 0)) dims[last] *= yd;
      else {
        dims.push(yd);
        strideA.push(sa);
        strideB.push(sb);
      }
    }
    aRun *= ad;
    bRun *= bd;
  }
  if (!ok)
    badShape(
      oi,
      'cannot broadcast [' + aShape.join(',') + '] and [' + bShape.join(',') + '] to [' + yShape.join(',') + ']',
    );
  if (dims.length > BROADCAST_RANK) badShape(oi, 'broadcasts over more than ' + BROADCAST_RANK + ' dimension groups');
  p.dims = [];
  p.strideA = [];
  p.strideB = [];
  for (let k = BROADCAST_RANK - 1; k >= 0; k--) {
    let inside = k < dims.length;
    p.dims.push(inside ? dims[k] : 1);
    p.strideA.push(inside ? strideA[k] : 0);
    p.strideB.push(inside ? strideB[k] : 0);
  }
}

/** One innermost run of a binary op: n outputs from y[yAt], the inputs stepping by aStep / bStep (0 or 1). */
type BinaryRows = (
  p: BinaryData,
  aAt: number,
  aStep: number,
  bAt: number,
  bStep: number,
  yAt: number,
  n: number,
) => void;

/** Runs `rows` over every innermost run of the prepared broadcast; the output is written contiguously. */
export function broadcastRows(p: BinaryData, rows: BinaryRows): void {
  let d = p.dims,
    sa = p.strideA,
    sb = p.strideB,
    n = d[3],
    yAt = 0;
  for (let i0 = 0; i0 < d[0]; i0++) {
    for (let i1 = 0; i1 < d[1]; i1++) {
      for (let i2 = 0; i2 < d[2]; i2++) {
        rows(p, i0 * sa[0] + i1 * sa[1] + i2 * sa[2], sa[3], i0 * sb[0] + i1 * sb[1] + i2 * sb[2], sb[3], yAt, n);
        yAt += n;
      }
    }
  }
}
