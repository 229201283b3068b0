// RESIZE_NEAREST_NEIGHBOR: TFLite's nearest-neighbour resize of an NHWC map, with each output row's and column's
// source index computed on the host (TFLM computes them in float32 per inference; the blob holds the result), so an
// inference only copies channel runs. Prepare checks every index against the input and turns it into an offset.

import {
  Options_ResizeNearestNeighborOptions,
  ResizeNearestNeighborOptions_cols,
  ResizeNearestNeighborOptions_rows,
} from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needInputs, needOptions, type OpContext, type OpRegistration, outputInfo } from '../op';
import type { Buf } from '../platform/api';

interface ResizeData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  channels: number;
  /** Input offset of each output row's source row, and of each output column's source column. */
  rowAt: number[];
  colAt: number[];
}

function prepareResizeNearest(ctx: OpContext): ResizeData {
  needOptions(ctx, Options_ResizeNearestNeighborOptions);
  needInputs(ctx, 1, 'one input');
  const oi = ctx.index,
    xs = inputInfo(ctx, 0).shape,
    ys = outputInfo(ctx).shape,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  if (xs.length !== 4 || ys.length !== 4 || xs[0] !== 1 || ys[0] !== 1 || xs[3] !== ys[3])
    badShape(oi, 'resize needs [1,h,w,c] to [1,oh,ow,c]');
  const rows = intVector(ctx.blob, ctx.options, ResizeNearestNeighborOptions_rows),
    cols = intVector(ctx.blob, ctx.options, ResizeNearestNeighborOptions_cols);
  if (rows.length !== ys[1] || cols.length !== ys[2]) badOptions(oi, 'resize indices do not match the output');
  const p: ResizeData = { x: x.data, xOff: x.at, y: y.data, yOff: y.at, channels: xs[3], rowAt: [], colAt: [] };
  for (let i = 0; i < rows.length; i++) {
    if (!(rows[i] >= 0 && rows[i] < xs[1])) badOptions(oi, 'resize row index ' + rows[i]);
    p.rowAt.push(rows[i] * xs[2] * xs[3]);
  }
  for (let j = 0; j < cols.length; j++) {
    if (!(cols[j] >= 0 && cols[j] < xs[2])) badOptions(oi, 'resize column index ' + cols[j]);
    p.colAt.push(cols[j] * xs[3]);
  }
  return p;
}

function evalResizeNearest(p: ResizeData): void {
  const x = p.x,
    y = p.y,
    C = p.channels,
    rowAt = p.rowAt,
    colAt = p.colAt,
    oh = rowAt.length,
    ow = colAt.length;
  let yo = p.yOff;
  for (let i = 0; i < oh; i++) {
    const row = p.xOff + rowAt[i];
    for (let j = 0; j < ow; j++) {
      const src = row + colAt[j];
      for (let c = 0; c < C; c++) y[yo + c] = x[src + c];
      yo += C;
    }
  }
}

export const RESIZE_NEAREST_NEIGHBOR: OpRegistration = { prepare: prepareResizeNearest, eval: evalResizeNearest };
