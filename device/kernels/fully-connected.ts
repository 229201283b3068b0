// FULLY_CONNECTED: y[b,o] = clamp(MBQM(bias[o] + Σ x·w) + zp); the input zero point is folded into bias.
// A batch row's sums go into the accumulator row (denseDots) and are requantized together (requantizeRow).

import { type Requant, readRequant, requantizeRow } from '../fixedpoint';
import {
  FullyConnectedOptions_activation_max,
  FullyConnectedOptions_activation_min,
  FullyConnectedOptions_output_multiplier,
  FullyConnectedOptions_output_shift,
  FullyConnectedOptions_output_zero_point,
  Options_FullyConnectedOptions,
} from '../format/layout';
import { badShape } from '../format/reader';
import { DOT_NONE } from '../native-dot';
import {
  inputInfo,
  needOptions,
  type OpContext,
  type OpRegistration,
  outputInfo,
  requestScratch32,
  type Scratch,
} from '../op';
import { type Buf, floor, int32 } from '../platform/api';
import { checkAccumulators, type DenseWeights, denseDots, readDenseWeights, useNativeDot } from './dense';
import type { PackedWeights } from './packed-weights';

export interface FullyConnectedData {
  x: Buf;
  xOff: number;
  y: Buf;
  yOff: number;
  /** Inputs per output (weights' columns), outputs per batch row (weights' rows), batch rows. */
  depth: number;
  outs: number;
  batches: number;
  weights: DenseWeights;
  rq: Requant;
  scratch: Scratch;
  /** The accumulator row: scratch.int32[acc]. */
  acc: number;
}

/** FULLY_CONNECTED's prepare, its weights `packed` when stored so (kernels/fully-connected-packed.ts). */
export function prepareFullyConnectedWith(ctx: OpContext, packed: PackedWeights | null): FullyConnectedData {
  const weights = readDenseWeights(ctx, packed);
  needOptions(ctx, Options_FullyConnectedOptions);
  const ws = inputInfo(ctx, 1).shape;
  if (ws.length !== 2) badShape(ctx.index, 'weights must be 2-D');
  const outs = ws[0],
    depth = ws[1],
    batches = inputInfo(ctx, 0).count / depth;
  if (batches !== floor(batches) || inputInfo(ctx, 2).count !== outs || outputInfo(ctx).count !== batches * outs)
    badShape(ctx.index, 'fully-connected shapes');
  checkAccumulators(ctx, weights, outs, depth, depth, 1);
  const x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output];
  const d: FullyConnectedData = {
    x: x.data,
    xOff: x.at,
    y: y.data,
    yOff: y.at,
    depth: depth,
    outs: outs,
    batches: int32(batches),
    weights: weights,
    rq: readRequant(
      ctx,
      [
        FullyConnectedOptions_output_multiplier,
        FullyConnectedOptions_output_shift,
        FullyConnectedOptions_output_zero_point,
        FullyConnectedOptions_activation_min,
        FullyConnectedOptions_activation_max,
      ],
      weights.bias,
      outs,
      depth,
    ),
    scratch: ctx.scratch,
    acc: weights.packed === null ? requestScratch32(ctx, outs) : 0,
  };
  if (ctx.dot !== DOT_NONE && weights.packed === null)
    useNativeDot(weights, ctx.dot, depth, outs, x.data, x.at, depth, d.batches);
  return d;
}

function prepareFullyConnected(ctx: OpContext): FullyConnectedData {
  return prepareFullyConnectedWith(ctx, null);
}

export function evalFullyConnected(d: FullyConnectedData): void {
  const n = d.depth,
    outs = d.outs,
    weights = d.weights,
    acc = d.scratch.int32[d.acc],
    xViews = weights.xRows.length;
  for (let b = 0; b < d.batches; b++) {
    const xView = b < xViews ? weights.xRows[b] : null; // a local: as an argument, Lua would build an array to order its evaluation
    denseDots(weights, n, outs, d.x, d.xOff + b * n, xView, acc);
    requantizeRow(d.rq, acc, outs, d.y, d.yOff + b * outs);
  }
}

/** Dense weights only: the registry's FULLY_CONNECTED_PACKED takes packed or sparse ones too. */
export const FULLY_CONNECTED: OpRegistration = { prepare: prepareFullyConnected, eval: evalFullyConnected };
