// How ONNX activations map onto IR tensors while importing. Rank-4 activations are stored NHWC; every ONNX activation
// is a view of one IR tensor: its ONNX (logical) shape plus, when not stored in the canonical layout (NHWC for rank
// 4, row-major otherwise), a map from each logical element to its position in the IR tensor.

import { ModelError, numel, type Padding } from '../../ir/graph';
import { samePadding } from '../window';

/** An activation: a view of IR tensor `phys` with ONNX shape `shape`; `map` (logical → IR element) when not canonical. */
export interface Act {
  phys: string;
  shape: number[];
  map?: Int32Array;
}

export const stridesOf = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, k = 1; d >= 0; k *= shape[d], d--) s[d] = k;
  return s;
};

/** For each element of the transposed tensor, the flat index it reads in the source (ONNX Transpose semantics). */
export function transposeIndex(shape: readonly number[], perm: readonly number[]): Int32Array {
  const inStrides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const idx = new Int32Array(numel(shape));
  const coord = new Array<number>(perm.length).fill(0);
  for (let i = 0, at = 0; i < idx.length; i++) {
    idx[i] = at;
    for (let d = perm.length - 1; d >= 0; d--) {
      at += inStrides[perm[d]];
      if (++coord[d] < outShape[d]) break;
      at -= inStrides[perm[d]] * outShape[d];
      coord[d] = 0;
    }
  }
  return idx;
}

export const NCHW_TO_NHWC = [0, 2, 3, 1];
/** The IR (stored) shape of an activation with ONNX shape `shape`. */
export const storedShape = (shape: readonly number[]) =>
  shape.length === 4 ? NCHW_TO_NHWC.map((p) => shape[p]) : [...shape];

/** Canonical storage: for each logical (ONNX row-major) element, its IR index. */
export function canonicalMap(shape: readonly number[]): Int32Array {
  if (shape.length !== 4) return Int32Array.from({ length: numel(shape) }, (_, i) => i);
  const toLogical = transposeIndex(shape, NCHW_TO_NHWC);
  const map = new Int32Array(toLogical.length);
  toLogical.forEach((logical, stored) => {
    map[logical] = stored;
  });
  return map;
}

/**
 * A rank-3 [N, C, L] activation stored channels-last ([N, L, C]): the storage of the H = 1 maps that 1-D convolution
 * and pooling run on (as TFLM runs them), for each logical element its IR index.
 */
export const channelsLastMap = (shape: readonly number[]): Int32Array =>
  canonicalMap([shape[0], shape[1], 1, shape[2]]);

export function normalizeAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new ModelError(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** ONNX auto_pad / explicit pads for a 2-D window → IR padding. */
export function windowPads(
  autoPad: string,
  explicit: number[],
  inHW: number[],
  strides: number[],
  effectiveKernel: number[],
  where: string,
): Padding {
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const same = [0, 1].map((k) => samePadding(inHW[k], strides[k], effectiveKernel[k]));
    const lo = same.map((s) => (autoPad === 'SAME_UPPER' ? s.before : s.total - s.before));
    return [lo[0], lo[1], same[0].total - lo[0], same[1].total - lo[1]];
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'NOTSET' && autoPad !== '') throw new ModelError(`${where}: auto_pad ${autoPad} is not supported`);
  const p = explicit.length ? explicit : [0, 0, 0, 0];
  if (p.length !== 4) throw new ModelError(`${where}: only 2-D windows are supported (pads [${p}])`);
  if (p.some((v) => !Number.isSafeInteger(v) || v < 0 || v > 1 << 16))
    throw new ModelError(`${where}: pads [${p}] must be non-negative integers`);
  return [p[0], p[1], p[2], p[3]];
}

/** The most dimensions a GATHER_STRIDED iterates over (device/kernels/gather-strided.ts). */
const GATHER_RANK = 6;

/**
 * `src` (for each output element, the input element it reads) as one strided view, y[i] = x[offset + Σ c_d·strides[d]]
 * with i's row-major coordinates c over `shape`, or undefined when it is not one (an arbitrary index set). Each
 * dimension, innermost first, is the longest run of equal steps that divides what is left, so contiguous
 * dimensions merge; the result is checked against every element.
 */
export function stridedView(src: Int32Array): { offset: number; shape: number[]; strides: number[] } | undefined {
  const n = src.length;
  const shape: number[] = [],
    strides: number[] = [];
  for (let block = 1; block < n; ) {
    const step = src[block] - src[0];
    const left = n / block;
    let run = 2;
    while (run < left && src[run * block] - src[0] === run * step) run++;
    while (left % run !== 0) run--;
    if (run === 1) return undefined;
    shape.unshift(run);
    strides.unshift(step);
    block *= run;
  }
  if (!shape.length) {
    shape.push(1);
    strides.push(1);
  }
  if (shape.length > GATHER_RANK) return undefined;
  const view = { offset: src[0], shape, strides };
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0, at = view.offset; i < n; i++) {
    if (src[i] !== at) return undefined;
    for (let d = shape.length - 1; d >= 0; d--) {
      at += strides[d];
      if (++coord[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      coord[d] = 0;
    }
  }
  return view;
}

/** The inverse of a permutation of 0..n−1 (a map from logical to stored elements → stored to logical). */
export function inversePermutation(map: ArrayLike<number>): Int32Array {
  const inv = new Int32Array(map.length);
  for (let i = 0; i < map.length; i++) inv[map[i]] = i;
  return inv;
}
