// BATCH_MATMUL of two activations (TFLite's int8 reference_ops::BatchMatMul): y[b] = x1[b] [rows, depth] ·
// x2[b] [depth, cols], y = clamp(MBQM(Σ_k (x1 + lhs_offset)·(x2 + rhs_offset)) + output_zero_point). The host
// broadcasts batches by stride (0: one matrix for every batch) and materialises a transposed operand (q·kᵀ)
// with GATHER_STRIDED before, so both are row-major here.

import { mbqm } from '../fixedpoint';
import {
  BatchMatMulOptions_activation_max,
  BatchMatMulOptions_activation_min,
  BatchMatMulOptions_batch,
  BatchMatMulOptions_cols,
  BatchMatMulOptions_depth,
  BatchMatMulOptions_lhs_batch_stride,
  BatchMatMulOptions_lhs_offset,
  BatchMatMulOptions_output_multiplier,
  BatchMatMulOptions_output_shift,
  BatchMatMulOptions_output_zero_point,
  BatchMatMulOptions_rhs_batch_stride,
  BatchMatMulOptions_rhs_offset,
  BatchMatMulOptions_rows,
  Options_BatchMatMulOptions,
} from '../format/layout';
import { badOptions, badShape } from '../format/reader';
import {
  checkBounds,
  inputInfo,
  needInputs,
  needOptions,
  type OpContext,
  type OpRegistration,
  optI32,
  outputInfo,
} from '../op';
import type { Buf } from '../platform/api';

interface BatchMatMulData {
  a: Buf;
  aOff: number;
  b: Buf;
  bOff: number;
  y: Buf;
  yOff: number;
  batch: number;
  rows: number;
  depth: number;
  cols: number;
  aStride: number;
  bStride: number;
  aOffset: number;
  bOffset: number;
  outZp: number;
  mult: number;
  shift: number;
  lo: number;
  hi: number;
  single: boolean;
}

function prepareBatchMatMul(ctx: OpContext): BatchMatMulData {
  needOptions(ctx, Options_BatchMatMulOptions);
  needInputs(ctx, 2, 'two activations');
  const oi = ctx.index,
    a = ctx.data[ctx.inputs[0]],
    b = ctx.data[ctx.inputs[1]],
    y = ctx.data[ctx.output];
  const p: BatchMatMulData = {
    a: a.data,
    aOff: a.at,
    b: b.data,
    bOff: b.at,
    y: y.data,
    yOff: y.at,
    batch: optI32(ctx, BatchMatMulOptions_batch, 0),
    rows: optI32(ctx, BatchMatMulOptions_rows, 0),
    depth: optI32(ctx, BatchMatMulOptions_depth, 0),
    cols: optI32(ctx, BatchMatMulOptions_cols, 0),
    aStride: optI32(ctx, BatchMatMulOptions_lhs_batch_stride, 0),
    bStride: optI32(ctx, BatchMatMulOptions_rhs_batch_stride, 0),
    aOffset: optI32(ctx, BatchMatMulOptions_lhs_offset, 0),
    bOffset: optI32(ctx, BatchMatMulOptions_rhs_offset, 0),
    outZp: optI32(ctx, BatchMatMulOptions_output_zero_point, 0),
    mult: optI32(ctx, BatchMatMulOptions_output_multiplier, 0),
    shift: optI32(ctx, BatchMatMulOptions_output_shift, 0),
    lo: optI32(ctx, BatchMatMulOptions_activation_min, -128),
    hi: optI32(ctx, BatchMatMulOptions_activation_max, 127),
    single: ctx.single,
  };
  checkBounds(ctx, p.lo, p.hi);
  if (!(p.batch >= 1 && p.rows >= 1 && p.depth >= 1 && p.cols >= 1 && p.aStride >= 0 && p.bStride >= 0))
    badOptions(oi, 'batch matmul geometry');
  const lastA = (p.batch - 1) * p.aStride + p.rows * p.depth,
    lastB = (p.batch - 1) * p.bStride + p.depth * p.cols;
  if (
    inputInfo(ctx, 1).bufferIndex >= 0 ||
    lastA > inputInfo(ctx, 0).count ||
    lastB > inputInfo(ctx, 1).count ||
    p.batch * p.rows * p.cols !== outputInfo(ctx).count
  )
    badShape(oi, 'batch matmul geometry does not match its tensors');
  // Every accumulator within int32 (|x + offset| ≤ 255), as the int32 reference's.
  if (p.depth > 33025) badShape(oi, 'batch matmul depth ' + p.depth + ' overflows int32');
  // Per output: `depth` multiply-adds (the verifier's work limit).
  ctx.work = p.depth;
  if (
    !(
      p.shift >= -31 &&
      p.shift <= 30 &&
      p.mult >= 0 &&
      p.aOffset >= -127 &&
      p.aOffset <= 128 &&
      p.bOffset >= -127 &&
      p.bOffset <= 128 &&
      p.outZp >= -128 &&
      p.outZp <= 127
    )
  )
    badOptions(oi, 'batch matmul parameters');
  return p;
}

function evalBatchMatMul(p: BatchMatMulData): void {
  const a = p.a,
    b = p.b,
    y = p.y,
    M = p.rows,
    K = p.depth,
    N = p.cols,
    ao = p.aOffset,
    bo = p.bOffset,
    lo = p.lo,
    hi = p.hi;
  let to = p.yOff;
  for (let bi = 0; bi < p.batch; bi++) {
    const aBase = p.aOff + bi * p.aStride,
      bBase = p.bOff + bi * p.bStride;
    for (let m = 0; m < M; m++) {
      const row = aBase + m * K;
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += (a[row + k] + ao) * (b[bBase + k * N + n] + bo);
        let v = mbqm(acc, p.mult, p.shift, p.single) + p.outZp;
        v = v < lo ? lo : v > hi ? hi : v;
        y[to + n] = v;
      }
      to += N;
    }
  }
}

export const BATCH_MATMUL: OpRegistration = { prepare: prepareBatchMatMul, eval: evalBatchMatMul };
