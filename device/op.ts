// What the loader (runtime.ts) and the kernels share, as in TFLM: a kernel registers a prepare, which reads its op's
// options from the blob into its own small op-data record (TFLM's OpData) and requests its scratch, and an eval
// over that record. The registration table (ops.ts, or one generated for a model's opcodes) maps opcodes to them.

import type { Blob } from './format/reader';
import { WeightLayout_DENSE } from './format/layout';
import { badOptions, badShape, failOp, fieldI32 } from './format/reader';
import { type Buf, int32, newInt8, newInt32 } from './platform/api';

export interface TensorInfo {
  shape: number[];
  type: number;
  scale: number;
  zeroPoint: number;
  /** The constant's buffer, or -1 for an activation. */
  bufferIndex: number;
  arenaOffset: number;
  count: number;
  bits: number;
  layout: number;
  stored: number;
  runBits: number;
}

/** Weights stored packed (int4/int2) or sparse: only a kernel registered with packedWeights reads them. */
export function isPackedTensor(info: TensorInfo): boolean {
  return info.bits !== 8 || info.layout !== WeightLayout_DENSE;
}

/** Where a tensor's values are: int8 in `data` (the blob or the arena) from `at`; int32 constants in `words`. */
export interface TensorData {
  data: Buf;
  at: number;
  words: Buf;
  /** Bytes of the tensor's buffer (0 for activations): a packed tensor's are checked by its kernel. */
  size: number;
}

/**
 * Scratch shared by all ops, which run one at a time: the k-th int8 (int32) request of every op gets the same
 * buffer, as large as the largest k-th request (allocated once every op is prepared, before any eval).
 */
export interface Scratch {
  int8: Buf[];
  int32: Buf[];
  int8Sizes: number[];
  int32Sizes: number[];
}

/** One op as its kernel's prepare sees it (TFLM's TfLiteContext and TfLiteNode). */
export interface OpContext {
  blob: Blob;
  /** The op's index in the model (error messages). */
  index: number;
  code: number;
  /** Requantize with single rounding (the model's rounding mode resolved for this op). */
  single: boolean;
  optionsType: number;
  /** Position of the options table, or -1. */
  options: number;
  /** Input tensor indices, each checked to be in range; inputs[0] is an int8 tensor. */
  inputs: number[];
  /** The output tensor index: an int8 activation. */
  output: number;
  tensors: TensorInfo[];
  data: TensorData[];
  /** The engine's native dot product (native-dot.ts). */
  dot: number;
  scratch: Scratch;
  /** This op's scratch requests so far. */
  int8Requests: number;
  int32Requests: number;
  /**
   * Work per output value (a dense row's depth, a conv window's taps, a pool window's size), for the model's work
   * limit (format/verify.ts): 1 unless the prepare sets more.
   */
  work: number;
}

export interface OpRegistration {
  /** Checks the op and returns its op data; fails with MRSL_E_* on anything the kernel cannot run. */
  prepare: (this: void, ctx: OpContext) => any;
  eval: (this: void, data: any) => void;
  /** The kernel reads packed or sparse weights (kernels/packed-weights.ts) at input 1; no other input may be packed. */
  packedWeights?: boolean;
}

/** fieldI32 as a small integer (platform int32): option values that kernels compute indices from. */
export function optI32(ctx: OpContext, vtOff: number, dflt: number): number {
  return int32(fieldI32(ctx.blob, ctx.options, vtOff, dflt));
}

/** Checks that the op carries the options table `want`. */
export function needOptions(ctx: OpContext, want: number): void {
  if (ctx.optionsType !== want || ctx.options < 0) badOptions(ctx.index, 'has the wrong options table');
}

export function needInputs(ctx: OpContext, n: number, what: string): void {
  if (ctx.inputs.length !== n) failOp('OP', ctx.index, 'needs ' + what);
}

/** Activation bounds, checked to be an int8 range. */
export function checkBounds(ctx: OpContext, lo: number, hi: number): void {
  if (!(lo >= -128 && hi <= 127 && lo <= hi)) badOptions(ctx.index, 'activation bounds');
}

export function inputInfo(ctx: OpContext, k: number): TensorInfo {
  return ctx.tensors[ctx.inputs[k]];
}

export function outputInfo(ctx: OpContext): TensorInfo {
  return ctx.tensors[ctx.output];
}

/** An elementwise op's output count, checked to equal its input's. */
export function sameCount(ctx: OpContext, what: string): number {
  const n = outputInfo(ctx).count;
  if (inputInfo(ctx, 0).count !== n) badShape(ctx.index, what + ' changes the element count');
  return n;
}

/** Requests int8 scratch of n values for this op's eval; the index into scratch.int8. */
export function requestScratch8(ctx: OpContext, n: number): number {
  const k = ctx.int8Requests++;
  grow(ctx.scratch.int8Sizes, k, n);
  return k;
}

/** Requests int32 scratch of n values for this op's eval; the index into scratch.int32. */
export function requestScratch32(ctx: OpContext, n: number): number {
  const k = ctx.int32Requests++;
  grow(ctx.scratch.int32Sizes, k, n);
  return k;
}

function grow(sizes: number[], k: number, n: number): void {
  while (sizes.length <= k) sizes.push(0);
  if (n > sizes[k]) sizes[k] = n;
}

/** Allocates the requested scratch, once every op is prepared. */
export function allocateScratch(s: Scratch): void {
  for (let k = 0; k < s.int8Sizes.length; k++) s.int8.push(newInt8(s.int8Sizes[k]));
  for (let k = 0; k < s.int32Sizes.length; k++) s.int32.push(newInt32(s.int32Sizes[k]));
}

/** A Buf of int32 values, for multipliers and shifts that are scalar option fields rather than a vector. */
export function int32s(values: number[]): Buf {
  const out = newInt32(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}
