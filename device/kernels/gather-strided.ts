// GATHER_STRIDED: y[i_0, .., i_r] = x[offset + Σ i_d·strides[d]] over a host-computed iteration shape (TRANSPOSE,
// SLICE, STRIDED_SLICE, SPLIT, a channel shuffle: the host folds any reshape/transpose/slice chain into one strided
// view, merging dimensions it can). Input and output share their quantization: bytes are copied. Prepare checks
// that every read stays inside the input, so eval runs without checks: the innermost dimension is one loop, the
// outer ones an odometer.

import {
  GatherStridedOptions_offset,
  GatherStridedOptions_shape,
  GatherStridedOptions_strides,
  Options_GatherStridedOptions,
} from '../format/layout';
import { badOptions, badShape, intVector } from '../format/reader';
import { inputInfo, needOptions, type OpContext, type OpRegistration, optI32, outputInfo } from '../op';
import { type Buf, int32 } from '../platform/api';

/** At most this many iteration dimensions (the host merges contiguous ones first). */
const GATHER_RANK = 6;

interface GatherStridedData {
  x: Buf;
  /** Where output 0 reads: the input's start plus the view's offset. */
  xOff: number;
  y: Buf;
  yOff: number;
  count: number;
  /** Iteration extents and input strides, outermost first; the last is the inner loop. */
  dims: number[];
  strides: number[];
  /** The odometer's position per dimension (load-time storage, reset by each eval). */
  at: number[];
}

function prepareGatherStrided(ctx: OpContext): GatherStridedData {
  needOptions(ctx, Options_GatherStridedOptions);
  const oi = ctx.index,
    x = ctx.data[ctx.inputs[0]],
    y = ctx.data[ctx.output],
    n = inputInfo(ctx, 0).count;
  const dims = intVector(ctx.blob, ctx.options, GatherStridedOptions_shape);
  const strides = intVector(ctx.blob, ctx.options, GatherStridedOptions_strides);
  const offset = optI32(ctx, GatherStridedOptions_offset, 0);
  const rank = dims.length;
  if (rank < 1 || rank > GATHER_RANK || strides.length !== rank)
    badOptions(oi, 'gather needs 1 to ' + GATHER_RANK + ' dimensions with one stride each');
  // The lowest and highest input index any output reads.
  let lo = offset,
    hi = offset,
    count = 1;
  const p: GatherStridedData = {
    x: x.data,
    xOff: int32(x.at + offset),
    y: y.data,
    yOff: y.at,
    count: 0,
    dims: [],
    strides: [],
    at: [],
  };
  for (let d = 0; d < rank; d++) {
    if (!(dims[d] >= 1)) badOptions(oi, 'gather extent ' + dims[d]);
    const reach = (dims[d] - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
    count *= dims[d];
    p.dims.push(int32(dims[d]));
    p.strides.push(int32(strides[d]));
    p.at.push(0);
  }
  if (count !== outputInfo(ctx).count) badShape(oi, 'gather shape does not cover the output');
  if (!(lo >= 0 && hi < n)) badOptions(oi, 'gather reads outside its input');
  p.count = int32(count);
  return p;
}

function evalGatherStrided(p: GatherStridedData): void {
  const x = p.x,
    y = p.y,
    dims = p.dims,
    strides = p.strides,
    at = p.at,
    last = dims.length - 1,
    inner = dims[last],
    step = strides[last];
  for (let d = 0; d < last; d++) at[d] = 0;
  let from = p.xOff,
    to = p.yOff;
  const end = p.yOff + p.count;
  while (to < end) {
    for (let i = 0; i < inner; i++) y[to + i] = x[from + i * step];
    to += inner;
    // Advance the odometer over the outer dimensions.
    let d = last - 1;
    while (d >= 0) {
      from += strides[d];
      at[d] += 1;
      if (at[d] < dims[d]) break;
      from -= strides[d] * dims[d];
      at[d] = 0;
      d--;
    }
  }
}

export const GATHER_STRIDED: OpRegistration = { prepare: prepareGatherStrided, eval: evalGatherStrided };
