// ONNX ops evaluated at import when all their inputs are constants (shape arithmetic, folded parameters, QDQ
// weights): one folder per op. Every output shape is checked against the element budget before it is allocated.

import { broadcastIndex } from '../../interp/int8/broadcast';
import { broadcastShapes, numel, type Quant } from '../../ir/graph';
import { MAX_TENSOR_ELEMENTS } from '../limits';
import { normalizeAxis, stridesOf, transposeIndex } from './layout';
import type { OnnxNode } from './node';
import { BOOL, type Const, FLOAT, FLOAT16, INT8, INT64, isInt, STRING, typeName, UINT8 } from './proto';
import { reshapedDims } from './reshape';

type Folder = (n: OnnxNode, c: (Const | undefined)[]) => void;

const identity: Folder = (n, [x]) => n.cx.consts.set(n.out, x!);

function Cast(n: OnnxNode, [x]: (Const | undefined)[]) {
  const to = n.int('to', FLOAT);
  // Strings, complex and the narrow floats and ints (float16, bfloat16; opset 19's float8 with `saturate`, opset 21's
  // int4/uint4) would round or wrap the values: refused by name.
  if (!(to >= FLOAT && to <= 13) || to === STRING || to === FLOAT16)
    throw n.error(`Cast to ${typeName(to)} is not supported`);
  const values = to === BOOL ? x!.data.map((v) => (v ? 1 : 0)) : isInt(to) ? x!.data.map(Math.trunc) : x!.data;
  n.setConst(x!.dims, values, to);
}

function Shape(n: OnnxNode) {
  const s = n.actOf(n.ins[0])?.shape ?? n.constOf(n.ins[0])?.dims;
  if (!s) throw n.error(`input '${n.ins[0]}' is not defined`);
  const rank = s.length;
  const clampIndex = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const sl = s.slice(clampIndex(n.int('start', 0)), clampIndex(n.int('end', rank)));
  n.setConst([sl.length], sl, INT64);
}

function ConstantOfShape(n: OnnxNode, [x]: (Const | undefined)[]) {
  const value = n.tensorAttr('value') ?? { data: [0], type: FLOAT };
  const dims = n.sized(Array.from(x!.data));
  n.setConst(dims, new Float64Array(numel(dims)).fill(value.data[0] ?? 0), value.type);
}

function Gather(n: OnnxNode, [x, idx]: (Const | undefined)[]) {
  const axis = normalizeAxis(n.int('axis', 0), x!.dims.length, n.where);
  const dims = n.sized([...x!.dims.slice(0, axis), ...idx!.dims, ...x!.dims.slice(axis + 1)]);
  const outer = numel(x!.dims.slice(0, axis)),
    inner = numel(x!.dims.slice(axis + 1)),
    size = x!.dims[axis];
  const data: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const i of idx!.data) {
      const j = i < 0 ? i + size : i;
      if (!(j >= 0 && j < size)) throw n.error(`index ${i} is out of range for axis ${axis} of size ${size}`);
      for (let k = 0; k < inner; k++) data.push(x!.data[(o * size + j) * inner + k]);
    }
  n.setConst(dims, data, x!.type);
}

/**
 * The elements ONNX Slice keeps along each axis of a tensor of shape `dims` (starts, ends, axes, steps from the
 * attributes before opset 10, from constant inputs after; clamped as the spec says): for constants and activations.
 */
export function sliceRanges(n: OnnxNode, dims: number[]): { start: number; step: number; count: number }[] {
  const rank = dims.length;
  const input = (k: number, what: string) => (n.ins[k] ? Array.from(n.needConst(n.ins[k], what).data) : undefined);
  const starts = input(1, 'starts') ?? n.ints('starts', []);
  const ends = input(2, 'ends') ?? n.ints('ends', []);
  const axes = (
    input(3, 'axes') ??
    n.ints(
      'axes',
      starts.map((_, i) => i),
    )
  ).map((a) => normalizeAxis(a, rank, n.where));
  const steps = input(4, 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length)
    throw n.error('starts, ends, axes and steps must have the same length');
  if (new Set(axes).size !== axes.length) throw n.error(`axes [${axes}] repeat an axis`);
  const ranges = dims.map((d) => ({ start: 0, step: 1, count: d }));
  axes.forEach((a, i) => {
    const d = dims[a],
      step = steps[i];
    if (step === 0) throw n.error('Slice step 0');
    const clampTo = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    const start = step > 0 ? clampTo(starts[i], 0, d) : clampTo(starts[i], -1, d - 1);
    const end = step > 0 ? clampTo(ends[i], 0, d) : clampTo(ends[i], -1, d - 1);
    ranges[a] = { start, step, count: Math.max(0, Math.ceil((end - start) / step)) };
  });
  return ranges;
}

function Slice(n: OnnxNode, c: (Const | undefined)[]) {
  const x = c[0]!;
  const rank = x.dims.length;
  const ranges = sliceRanges(n, x.dims);
  const dims = ranges.map((r) => r.count);
  const strides = stridesOf(x.dims);
  const data = Array.from({ length: numel(dims) }, (_, flat) => {
    let src = 0;
    for (let d = rank - 1, rest = flat; d >= 0; d--) {
      const k = rest % dims[d];
      rest = (rest - k) / dims[d];
      src += (ranges[d].start + k * ranges[d].step) * strides[d];
    }
    return x.data[src];
  });
  n.setConst(dims, data, x.type);
}

function Concat(n: OnnxNode, c: (Const | undefined)[]) {
  const parts = c.filter((p): p is Const => !!p && numel(p.dims) > 0);
  if (!parts.length) throw n.error('has no non-empty input');
  const rank = parts[0].dims.length;
  const axis = normalizeAxis(n.int('axis', 0), rank, n.where);
  for (const p of parts)
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== axis && d !== parts[0].dims[i]))
      throw n.error(`input [${p.dims}] does not fit [${parts[0].dims}] along axis ${axis}`);
  const dims = [...parts[0].dims];
  dims[axis] = parts.reduce((s, p) => s + p.dims[axis], 0);
  n.sized(dims);
  const outer = numel(parts[0].dims.slice(0, axis));
  const data: number[] = [];
  for (let o = 0; o < outer; o++)
    for (const p of parts) {
      const run = numel(p.dims.slice(axis));
      for (let k = 0; k < run; k++) data.push(p.data[o * run + k]);
    }
  n.setConst(dims, data, parts[0].type);
}

const reshape: Folder = (n, [x]) => n.setConst(reshapedDims(n, x!.dims), x!.data, x!.type);

function Transpose(n: OnnxNode, [x]: (Const | undefined)[]) {
  const perm = n.ints(
    'perm',
    x!.dims.map((_, i) => x!.dims.length - 1 - i),
  );
  checkPerm(n, perm, x!.dims.length);
  n.setConst(
    perm.map((p) => x!.dims[p]),
    Array.from(transposeIndex(x!.dims, perm), (i) => x!.data[i]),
    x!.type,
  );
}

/** A permutation of 0..rank-1, else a clear error. */
export function checkPerm(n: OnnxNode, perm: number[], rank: number): void {
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i))
    throw n.error(`perm [${perm}] is not a permutation of ${rank} axes`);
}

const ARITHMETIC: Record<string, (p: number, q: number, integer: boolean) => number> = {
  Add: (p, q) => p + q,
  Sub: (p, q) => p - q,
  Mul: (p, q) => p * q,
  Div: (p, q, integer) => (integer ? Math.trunc(p / q) : p / q),
};
const arithmetic: Folder = (n, c) => {
  const [a, b] = c as Const[];
  if (!b) throw n.error('needs two inputs');
  const dims = n.sized(broadcastShapes(a.dims, b.dims));
  const ia = broadcastIndex(a.dims, dims),
    ib = broadcastIndex(b.dims, dims);
  const integer = isInt(a.type) && isInt(b.type);
  const f = ARITHMETIC[n.opType];
  const data = Array.from(ia, (_, i) => f(a.data[ia[i]], b.data[ib[i]], integer));
  if (data.some((v) => !Number.isFinite(v))) throw n.error('gives NaN or Inf on constants');
  n.setConst(dims, data, a.type);
};

function Neg(n: OnnxNode, [x]: (Const | undefined)[]) {
  n.setConst(
    x!.dims,
    x!.data.map((v) => -v),
    x!.type,
  );
}

function Range(n: OnnxNode, c: (Const | undefined)[]) {
  if (c.length < 3 || c.some((p) => !p || p.data.length !== 1)) throw n.error('start, limit and delta must be scalars');
  const [start, limit, delta] = c.map((p) => p!.data[0]);
  if (delta === 0) throw n.error('delta is 0');
  const count = Math.max(Math.ceil((limit - start) / delta), 0);
  if (count > MAX_TENSOR_ELEMENTS)
    throw n.error(
      `Range(${start}, ${limit}, ${delta}) has ${count} elements, beyond the limit of ${MAX_TENSOR_ELEMENTS}`,
    );
  n.setConst(
    [count],
    Array.from({ length: count }, (_, i) => start + i * delta),
    c[0]!.type,
  );
}

/** ONNX QuantizeLinear rounding: half to even, in float32, then saturate. */
function quantizeOnnx(x: number, scale: number, zeroPoint: number, lo: number, hi: number): number {
  const v = Math.fround(x / scale);
  const r = Math.round(v);
  const even = r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  return Math.min(hi, Math.max(lo, even + zeroPoint));
}

/** Opset 21's block quantization (one scale per `block_size` values along an axis) is refused, naming it. */
export function refuseBlockQuantization(n: OnnxNode): void {
  if (n.int('block_size', 0) !== 0) throw n.error(`block_size ${n.int('block_size', 0)} is not supported`);
}

/** QuantizeLinear's output type: the zero point's, else opset 21's `output_dtype`, else uint8; only int8 or uint8. */
export function quantizedType(n: OnnxNode, zp: Const | undefined): number {
  const type = zp?.type ?? (n.int('output_dtype', 0) || UINT8);
  if (type !== INT8 && type !== UINT8)
    throw n.error(`quantization to ${typeName(type)} is not supported (int8, uint8)`);
  return type;
}

/** QuantizeLinear / DequantizeLinear on a constant. */
const quantizeConstant: Folder = (n, c) => {
  const [x, scaleC, zpC] = c;
  if (!x || !scaleC) throw n.error('needs an input and a scale');
  refuseBlockQuantization(n);
  const rank = x.dims.length;
  const perAxis = numel(scaleC.dims) > 1;
  const axis = perAxis ? normalizeAxis(n.int('axis', 1), rank, n.where) : undefined;
  if (axis !== undefined && scaleC.data.length !== x.dims[axis])
    throw n.error(`${scaleC.data.length} scales for ${x.dims[axis]} channels`);
  const inner = axis === undefined ? 1 : numel(x.dims.slice(axis + 1));
  const channel = (i: number) => (axis === undefined ? 0 : Math.floor(i / inner) % x.dims[axis]);
  const zp = (i: number) => (zpC ? zpC.data[zpC.data.length === 1 ? 0 : channel(i)] : 0);
  const scale = (i: number) => Math.fround(scaleC.data[scaleC.data.length === 1 ? 0 : channel(i)]);
  if (n.opType === 'QuantizeLinear') {
    const type = quantizedType(n, zpC);
    const [lo, hi] = type === INT8 ? [-128, 127] : [0, 255];
    n.setConst(
      x.dims,
      Array.from(x.data, (v, i) => quantizeOnnx(v, scale(i), zp(i), lo, hi)),
      type,
    );
    return;
  }
  const data = Array.from(x.data, (q, i) => Math.fround((q - zp(i)) * scale(i)));
  // Keep the producer's parameters on symmetric int8 weights; other constants are plain floats.
  const keep = x.type === INT8 && (!zpC || zpC.data.every((z) => z === 0));
  const channels = axis === undefined ? 1 : x.dims[axis];
  const quant: Quant | undefined = keep
    ? {
        scale: Array.from({ length: channels }, (_, k) => Math.fround(scaleC.data[scaleC.data.length === 1 ? 0 : k])),
        zeroPoint: new Array(channels).fill(0),
        ...(axis === undefined ? {} : { axis }),
      }
    : undefined;
  n.cx.defineConst(n.out, { dims: x.dims, data: Float64Array.from(data), type: FLOAT, quant }, n.where);
};

/** Expand: numpy broadcasting of the constant to the shape (torch's zero initial state of LSTM/GRU is one). */
function Expand(n: OnnxNode, [x, shape]: (Const | undefined)[]) {
  if (!shape) throw n.error('its shape input must be a constant');
  const dims = n.sized(broadcastShapes(x!.dims, Array.from(shape.data)));
  const index = broadcastIndex(x!.dims, dims);
  n.cx.defineConst(n.out, { dims, data: Float64Array.from(index, (i) => x!.data[i]), type: x!.type }, n.where);
}

/** ONNX op → its folder over constant inputs. */
export const CONSTANT_FOLDERS: Record<string, Folder> = {
  Identity: identity,
  Dropout: identity,
  Cast,
  Shape,
  ConstantOfShape,
  Gather,
  Slice,
  Concat,
  Reshape: reshape,
  Flatten: reshape,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Transpose,
  Add: arithmetic,
  Sub: arithmetic,
  Mul: arithmetic,
  Div: arithmetic,
  Neg,
  Range,
  Expand,
  QuantizeLinear: quantizeConstant,
  DequantizeLinear: quantizeConstant,
};
