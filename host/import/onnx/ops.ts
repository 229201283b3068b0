// ONNX ops on activations → IR ops: one named handler per op (tinygrad's nn/onnx.py shape), dispatched by
// ONNX_HANDLERS. A handler reads its attributes through its OnnxNode, checks them, and emits IR ops.

import { applied, type Expr } from '../../ir/elementwise';
import { broadcastIndex } from '../../interp/int8/broadcast';
import { tfliteNearestSources } from '../../interp/int8/resize-nearest';
import { broadcastShapes, numel, type Op, type Padding, type Quant } from '../../ir/graph';
import { sameArray } from '../../ir/shape';
import { checkShape } from '../limits';
import { dilatedExtent, windowOutSize } from '../window';
import { checkPerm, quantizedType, refuseBlockQuantization, sliceRanges } from './fold';
import {
  type Act,
  canonicalMap,
  inversePermutation,
  NCHW_TO_NHWC,
  normalizeAxis,
  storedShape,
  stridesOf,
  transposeIndex,
  windowPads,
} from './layout';
import type { OnnxNode } from './node';
import { type Const, FLOAT, INT64, UINT8 } from './proto';
import { GRU, LSTM } from './recurrent';
import { reshapedDims } from './reshape';

type Handler = (n: OnnxNode) => void;

function Constant(n: OnnxNode) {
  const t = n.tensorAttr('value');
  if (t) n.cx.defineConst(n.out, t, n.where);
  else if (n.has('value_float')) n.setConst([], [n.float('value_float', 0)], FLOAT);
  else if (n.has('value_floats')) n.setConst([n.floats('value_floats')!.length], n.floats('value_floats')!, FLOAT);
  else if (n.has('value_int')) n.setConst([], [n.int('value_int', 0)], INT64);
  else if (n.has('value_ints')) n.setConst([n.ints('value_ints', []).length], n.ints('value_ints', []), INT64);
  else throw n.error('this Constant form is not supported (value, value_float(s), value_int(s))');
}

function Identity(n: OnnxNode) {
  n.cx.acts.set(n.out, n.needAct(n.ins[0]));
}

/** A 1-D window op (rank-3 [N, C, L] input) runs as the 2-D one with H = 1, as TFLM runs Conv1D and 1-D pooling. */
const isOneD = (n: OnnxNode, a: Act, what: string): boolean => {
  if (a.shape.length !== 3 && a.shape.length !== 4)
    throw n.error(`only 1-D and 2-D ${what} is supported (input [${a.shape}])`);
  return a.shape.length === 3;
};

/** A 1-D window op's [N, C, L] input as the [N, C, 1, L] view its 2-D kernel reads (free: stored channels-last). */
function as2D(n: OnnxNode, a: Act): Act {
  if (a.shape.length !== 3) return a;
  return n.view(`${n.name}/2d`, a, [a.shape[0], a.shape[1], 1, a.shape[2]], n.mapOf(a));
}

/** Emits a window op computed on [N, C, H, W]; a 1-D op's output is ONNX's [N, C, L], stored channels-last. */
function emitWindow(n: OnnxNode, op: Omit<Op, 'outputs'>, shape: number[], oneD: boolean): void {
  if (oneD) n.emit(op, [shape[0], shape[1], shape[3]], canonicalMap(shape), storedShape(shape));
  else n.emit(op, shape);
}

/** A spatial attribute (kernel_shape, strides, dilations) of a 1-D or 2-D window as an [H, W] pair. */
function windowPair(n: OnnxNode, k: string, d: number, oneD: boolean): [number, number] {
  if (!oneD) return n.pair(k, [d, d]);
  const v = n.ints(k, [d]);
  if (v.length !== 1 || !Number.isSafeInteger(v[0]) || v[0] < 1 || v[0] > 1 << 16)
    throw n.error(`${k} [${v}] must be one positive integer for a 1-D window`);
  return [1, v[0]];
}

/** A window's explicit or automatic padding over the [H, W] of its (2-D view of the) input, as IR padding. */
function padsOf(n: OnnxNode, x: Act, strides: number[], extent: number[], oneD: boolean): Padding {
  const explicit = n.ints('pads', []);
  if (oneD && explicit.length && explicit.length !== 2) throw n.error(`pads [${explicit}] must be two values for 1-D`);
  const pads = oneD && explicit.length ? [0, explicit[0], 0, explicit[1]] : explicit;
  return windowPads(n.str('auto_pad', 'NOTSET'), pads, [x.shape[2], x.shape[3]], strides, extent, n.where);
}

function Conv(n: OnnxNode) {
  const oneD = isOneD(n, n.needAct(n.ins[0]), 'convolution');
  const a = as2D(n, n.needAct(n.ins[0]));
  const w = n.needConst(n.ins[1], 'the weight');
  if (w.dims.length !== (oneD ? 3 : 4)) throw n.error(`weights must be a ${oneD ? 3 : 4}-D constant`);
  // Positive dims before any loop over them: an empty weight [10^9, 3, 0, 3] passed the element budget and then
  // spun the output-channel loop for minutes. [out, in/group, k] of a 1-D convolution holds the same values as
  // [out, in/group, 1, k].
  const dims = checkShape(w.dims, `${n.where}: the weight`);
  const [O, Ig, kh, kw] = oneD ? [dims[0], dims[1], 1, dims[2]] : dims;
  const C = a.shape[1];
  const group = n.int('group', 1);
  if (!(group >= 1) || Ig * group !== C || O % group !== 0)
    throw n.error(`weights [${w.dims}] with group ${group} do not fit ${C} input channels`);
  const strides = windowPair(n, 'strides', 1, oneD);
  const dil = windowPair(n, 'dilations', 1, oneD);
  const extent = [dilatedExtent(kh, dil[0]), dilatedExtent(kw, dil[1])];
  const pads = padsOf(n, a, strides, extent, oneD);
  const oh = windowOutSize(a.shape[2], pads[0] + pads[2], extent[0], strides[0], n.where);
  const ow = windowOutSize(a.shape[3], pads[1] + pads[3], extent[1], strides[1], n.where);
  const depthwise = group === C && Ig === 1 && group > 1;
  // A channel-permuted view (e.g. a channel shuffle) is absorbed into the weights' input channels; any other view
  // (and a permuted one before a depthwise convolution) is copied into canonical order first.
  let input = a.phys;
  let inputChannel = n.channelPermutation(a);
  if (!inputChannel || (depthwise && inputChannel.some((p, c) => p !== c))) {
    input = n.canonical(a);
    inputChannel = Array.from({ length: C }, (_, c) => c);
  }
  const channelOf = inputChannel;
  let weights: string;
  if (depthwise) {
    const wt = new Float32Array(w.data.length);
    for (let o = 0; o < O; o++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) wt[(y * kw + x) * O + o] = w.data[(o * kh + y) * kw + x];
    weights = n.cx.addConst(`${n.name}/weights`, [1, kh, kw, O], wt, n.weightQuant(w, 0, 3));
  } else {
    // Grouped (non-depthwise) convolution runs as one dense convolution whose weights are zero outside each
    // group's block: every output channel reads only its group's input channels, as ONNX defines. That dense
    // tensor is `group` times the stored weight, so it is bounded before it is allocated.
    checkShape([O, kh, kw, C], `${n.where}: the dense form of the grouped weight`);
    const wt = new Float32Array(O * kh * kw * C);
    const perGroup = O / group;
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ig; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const c = Math.floor(o / perGroup) * Ig + i;
            wt[((o * kh + y) * kw + x) * C + channelOf[c]] = w.data[((o * Ig + i) * kh + y) * kw + x];
          }
    weights = n.cx.addConst(`${n.name}/weights`, [O, kh, kw, C], wt, n.weightQuant(w, 0, 0));
  }
  const opIns = [input, weights];
  const b = n.constOf(n.ins[2]);
  if (b) {
    if (b.data.length !== O) throw n.error(`bias has ${b.data.length} values for ${O} output channels`);
    opIns.push(n.cx.addConst(`${n.name}/bias`, [O], b.data));
  }
  const attrs = {
    strides,
    dilations: dil,
    pads,
    group: depthwise ? group : 1,
    ...(depthwise ? { multiplier: O / C } : {}),
  };
  emitWindow(
    n,
    { kind: depthwise ? 'depthwise_conv2d' : 'conv2d', inputs: opIns, attrs } as Omit<Op, 'outputs'>,
    [1, O, oh, ow],
    oneD,
  );
}

/**
 * ConvTranspose (opsets 1–21; 1-D via H = 1) as TRANSPOSE_CONV. Pads, output_padding, output_shape and auto_pad only
 * decide the output's size and how many rows and columns are cropped before it: from output_shape or auto_pad
 * SAME_* as the spec and onnxruntime do (an odd cell cropped after for SAME_UPPER, before otherwise). A grouped weight
 * [C, O/group, kh, kw] becomes the dense [O, kh, kw, C], zero outside each group's block, as grouped Conv does.
 */
function ConvTranspose(n: OnnxNode) {
  const oneD = isOneD(n, n.needAct(n.ins[0]), 'transposed convolution');
  const a = as2D(n, n.needAct(n.ins[0]));
  const w = n.needConst(n.ins[1], 'the weight');
  if (w.dims.length !== (oneD ? 3 : 4)) throw n.error(`weights must be a ${oneD ? 3 : 4}-D constant`);
  const dims = checkShape(w.dims, `${n.where}: the weight`);
  const [C, Og, kh, kw] = oneD ? [dims[0], dims[1], 1, dims[2]] : dims;
  const group = n.int('group', 1);
  if (!(group >= 1) || C !== a.shape[1] || C % group !== 0)
    throw n.error(`weights [${w.dims}] with group ${group} do not fit ${a.shape[1]} input channels`);
  if (w.quant && group !== 1) throw n.error(`quantized weights with group ${group} are not supported`);
  const O = Og * group;
  if (n.has('kernel_shape') && !sameArray(windowPair(n, 'kernel_shape', 1, oneD), [kh, kw]))
    throw n.error(`kernel_shape [${n.ints('kernel_shape', [])}] does not match the weights [${w.dims}]`);
  const strides = windowPair(n, 'strides', 1, oneD);
  const dil = windowPair(n, 'dilations', 1, oneD);
  const padding = n.ints('output_padding', oneD ? [0] : [0, 0]);
  const adj = oneD ? [0, padding[0]] : padding;
  if (padding.length !== (oneD ? 1 : 2) || [0, 1].some((d) => !(adj[d] >= 0 && adj[d] < Math.max(strides[d], dil[d]))))
    throw n.error(`output_padding [${padding}] must be ${oneD ? 1 : 2} values below the strides or dilations`);
  const inHW = [a.shape[2], a.shape[3]];
  const full = [0, 1].map((d) => strides[d] * (inHW[d] - 1) + adj[d] + dilatedExtent([kh, kw][d], dil[d]));
  const autoPad = n.str('auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad))
    throw n.error(`auto_pad ${autoPad} is not supported`);
  let outputShape = n.ints('output_shape', []);
  if (outputShape.length === (oneD ? 3 : 4)) outputShape = outputShape.slice(2);
  if (oneD && outputShape.length === 1) outputShape = [1, outputShape[0]];
  if (n.has('output_shape') && outputShape.length !== 2)
    throw n.error(`output_shape [${n.ints('output_shape', [])}] must give the ${oneD ? 1 : 2} spatial sizes`);
  let before: number[];
  let out: number[];
  if (outputShape.length || autoPad.startsWith('SAME')) {
    out = outputShape.length ? outputShape : [0, 1].map((d) => inHW[d] * strides[d]);
    const total = [0, 1].map((d) => Math.max(0, full[d] - out[d]));
    before = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
  } else {
    const explicit = n.ints('pads', []);
    const pads =
      autoPad === 'VALID' ? [0, 0, 0, 0] : oneD && explicit.length === 2 ? [0, explicit[0], 0, explicit[1]] : explicit;
    if (pads.length === 0) pads.push(0, 0, 0, 0);
    if (pads.length !== 4 || pads.some((p) => !Number.isSafeInteger(p) || p < 0 || p > 1 << 16))
      throw n.error(`pads [${explicit}] must be ${oneD ? 2 : 4} non-negative integers`);
    before = [pads[0], pads[1]];
    out = [0, 1].map((d) => full[d] - pads[d] - pads[d + 2]);
  }
  if (!(out[0] >= 1 && out[1] >= 1 && before[0] < 256 && before[1] < 256))
    throw n.error(`output [${out}] with ${before} rows/columns cropped before it is not supported`);
  checkShape([O, kh, kw, C], `${n.where}: the dense form of the weight`);
  const wt = new Float32Array(O * kh * kw * C);
  const inGroup = C / group;
  for (let c = 0; c < C; c++)
    for (let oo = 0; oo < Og; oo++) {
      const o = Math.floor(c / inGroup) * Og + oo;
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) wt[((o * kh + y) * kw + x) * C + c] = w.data[((c * Og + oo) * kh + y) * kw + x];
    }
  const opIns = [n.canonical(a), n.cx.addConst(`${n.name}/weights`, [O, kh, kw, C], wt, n.weightQuant(w, 1, 0))];
  const b = n.constOf(n.ins[2]);
  if (b) {
    if (b.data.length !== O) throw n.error(`bias has ${b.data.length} values for ${O} output channels`);
    opIns.push(n.cx.addConst(`${n.name}/bias`, [O], b.data));
  }
  const pads: Padding = [before[0], before[1], full[0] - before[0] - out[0], full[1] - before[1] - out[1]];
  const attrs = { strides, dilations: dil, pads, group: 1 };
  emitWindow(n, { kind: 'conv_transpose', inputs: opIns, attrs } as Omit<Op, 'outputs'>, [1, O, out[0], out[1]], oneD);
}

/** Emits an op whose output is stored in row-major (ONNX) order: a view unless that is canonical. */
function emitRowMajor(n: OnnxNode, op: Omit<Op, 'outputs'>, shape: number[]) {
  if (shape.length === 4)
    n.emit(
      op,
      shape,
      Int32Array.from({ length: numel(shape) }, (_, i) => i),
      shape,
    );
  else n.emit(op, shape);
}

/** MatMul of two activations [..., M, K] × [..., K, N] (attention): BATCH_MATMUL, a batch of 1 broadcasting. */
function matMulActivations(n: OnnxNode) {
  const [a, b] = [n.needAct(n.ins[0]), n.needAct(n.ins[1])];
  const { op, shape } = batchMatMul(n, a, b);
  emitRowMajor(n, op, shape);
}

/** The BATCH_MATMUL of activations a [..., M, K] × b [..., K, N] and its output shape. */
function batchMatMul(n: OnnxNode, a: Act, b: Act): { op: Omit<Op, 'outputs'>; shape: number[] } {
  if (a.shape.length < 2 || b.shape.length < 2)
    throw n.error(`MatMul of a 1-D activation ([${a.shape}] × [${b.shape}]) is not supported`);
  const [M, K] = a.shape.slice(-2);
  const [depth, N] = b.shape.slice(-2);
  if (K !== depth) throw n.error(`[${a.shape}] × [${b.shape}]: inner dimensions differ`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(batchShape);
  const [na, nb] = [numel(a.shape.slice(0, -2)), numel(b.shape.slice(0, -2))];
  if ((na !== batch && na !== 1) || (nb !== batch && nb !== 1))
    throw n.error(`[${a.shape}] × [${b.shape}] broadcasts some batch dimensions but not all; not supported`);
  const attrs = {
    batch,
    rows: M,
    depth: K,
    cols: N,
    lhsBatchStride: na === 1 ? 0 : M * K,
    rhsBatchStride: nb === 1 ? 0 : K * N,
  };
  return {
    op: { kind: 'batch_matmul', inputs: [n.rowMajor(a), n.rowMajor(b)], attrs } as Omit<Op, 'outputs'>,
    shape: n.sized([...batchShape, M, N]),
  };
}

/** The transpose of a 2-D activation, as a view (`what` names it in errors and the view). */
function transposed2D(n: OnnxNode, a: Act, what: string): Act {
  if (a.shape.length !== 2) throw n.error(`trans${what} needs a 2-D ${what} (got [${a.shape}])`);
  const map = n.mapOf(a);
  return n.view(
    `${n.name}/trans${what}`,
    a,
    [a.shape[1], a.shape[0]],
    Int32Array.from(transposeIndex(a.shape, [1, 0]), (i) => map[i]),
  );
}

/**
 * Gemm of two activations (α·A′·B′ + β·C): BATCH_MATMUL of the (viewed) transposes, a MUL by α unless it is 1, and an
 * ADD of the constant β·C of any shape that broadcasts to [M, N] ([M, N], [M, 1], [N], scalar).
 */
function gemmActivations(n: OnnxNode) {
  let [a, b] = [n.needAct(n.ins[0]), n.needAct(n.ins[1])];
  if (a.shape.length !== 2 || b.shape.length !== 2)
    throw n.error(`Gemm needs 2-D A and B ([${a.shape}], [${b.shape}])`);
  if (n.int('transA', 0)) a = transposed2D(n, a, 'A');
  if (n.int('transB', 0)) b = transposed2D(n, b, 'B');
  const c = n.constOf(n.ins[2]);
  if (n.ins[2] && !c) throw n.error('a Gemm bias must be constant');
  const [alpha, beta] = [n.float('alpha', 1), n.float('beta', 1)];
  const product = batchMatMul(n, a, b);
  const shape = product.shape;
  if (c && !sameArray(broadcastShapes(c.dims, shape), shape))
    throw n.error(`bias [${c.dims}] does not broadcast to the output [${shape}]`);
  const operand = (k: Const, tag: string) => n.constLike(k, { phys: '', shape }, tag);
  const after: { kind: 'mul' | 'add'; operand: string }[] = [];
  if (alpha !== 1)
    after.push({ kind: 'mul', operand: operand({ dims: [], data: Float64Array.of(alpha), type: FLOAT }, 'alpha') });
  if (c && beta !== 0)
    after.push({
      kind: 'add',
      operand: operand({ ...c, data: c.data.map((v) => beta * v), quant: undefined }, 'bias'),
    });
  if (!after.length) return n.emit(product.op, shape);
  let x = n.step('product', product.op, shape);
  after.forEach(({ kind, operand }, i) => {
    const op = { kind, inputs: [x, operand], attrs: {} } as Omit<Op, 'outputs'>;
    if (i === after.length - 1) n.emit(op, shape);
    else x = n.step(kind, op, shape);
  });
}

/**
 * Gemm (α·A′·B′ + β·C, A′ = Aᵀ with transA, B′ = Bᵀ with transB) and MatMul of an activation by a constant 2-D weight,
 * as FULLY_CONNECTED. Aᵀ is a view (free for a [K, 1] A, absorbed into the weights where A is itself a view); a bias C
 * that is the same for every row ([N], [1, N], [1], scalar) is FULLY_CONNECTED's bias, one that differs by row
 * ([M, N], [M, 1]) an ADD of a constant after it.
 */
function Gemm(n: OnnxNode) {
  if (n.actOf(n.ins[1])) return n.opType === 'MatMul' ? matMulActivations(n) : gemmActivations(n);
  let a = n.needAct(n.ins[0]);
  const b = n.constOf(n.ins[1]);
  if (!b || b.dims.length !== 2) throw n.error('only an activation times a constant 2-D weight is supported');
  if (n.opType === 'Gemm' && n.int('transA', 0)) a = transposed2D(n, a, 'A');
  const transB = n.opType === 'Gemm' ? n.int('transB', 0) : 0;
  const alpha = n.opType === 'Gemm' ? n.float('alpha', 1) : 1;
  const [K, N] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (a.shape[a.shape.length - 1] !== K) throw n.error(`input [${a.shape}] does not match weights [${b.dims}]`);
  let x: string;
  let column = (k: number) => k;
  if (a.shape.length === 2 && a.shape[0] === 1 && numel(n.cx.storedOf(a)) === K) {
    // [1, K], possibly a view that reorders its whole tensor (a flattened NHWC map): permute the weight columns
    // instead of the data. A view of part of a larger tensor (Gather of the last step) is copied below.
    const map = n.mapOf(a);
    const stored = new Int32Array(K);
    map.forEach((s, k) => {
      stored[s] = k;
    });
    column = (k) => stored[k];
    x = sameArray(n.cx.storedOf(a), [1, K])
      ? a.phys
      : n.view(
          `${n.name}/flat`,
          { phys: a.phys, shape: [1, K] },
          [1, K],
          Int32Array.from({ length: K }, (_, i) => i),
          `${n.name}/flatten`,
        ).phys;
  } else {
    // Rows of K in row-major order (a copy only for a view or a 4-D activation, which is stored NHWC).
    x = n.rowMajor(a, [numel(a.shape) / K, K]);
  }
  const w = new Float32Array(N * K);
  for (let o = 0; o < N; o++)
    for (let k = 0; k < K; k++) w[o * K + k] = alpha * b.data[transB ? o * K + column(k) : column(k) * N + o];
  const q = n.weightQuant(b, transB ? 0 : 1, 0);
  const scaled: Quant | undefined = q && alpha !== 1 ? { ...q, scale: q.scale.map((s) => Math.fround(s * alpha)) } : q;
  const opIns = [x, n.cx.addConst(`${n.name}/weights`, [N, K], w, scaled)];
  const outShape = [...a.shape.slice(0, -1), N];
  const c = n.constOf(n.ins[2]);
  if (n.ins[2] && !c) throw n.error('a Gemm bias must be constant');
  const beta = n.opType === 'Gemm' ? n.float('beta', 1) : 1;
  const rows = numel(outShape) / N;
  if (c && numel(broadcastShapes(c.dims, [rows, N])) !== rows * N)
    throw n.error(`bias [${c.dims}] does not broadcast to the output [${rows},${N}]`);
  // Per column only: its row dimension (if any) is 1.
  const perColumn = !c || c.dims.length < 2 || c.dims[c.dims.length - 2] === 1 || rows === 1;
  if (c && perColumn) {
    const column = (i: number) => (c.dims[c.dims.length - 1] === 1 || !c.dims.length ? 0 : i);
    opIns.push(
      n.cx.addConst(
        `${n.name}/bias`,
        [N],
        Array.from({ length: N }, (_, i) => beta * c.data[column(i)]),
      ),
    );
  }
  if (perColumn) {
    emitRowMajor(n, { kind: 'dense', inputs: opIns, attrs: {} } as Omit<Op, 'outputs'>, outShape);
    return;
  }
  const product = n.step('product', { kind: 'dense', inputs: opIns, attrs: {} } as Omit<Op, 'outputs'>, outShape);
  const act = { phys: product, shape: outShape };
  const bias = n.constLike({ ...c!, data: c!.data.map((v) => beta * v), quant: undefined }, act, 'bias');
  n.emit({ kind: 'add', inputs: [product, bias], attrs: {} } as Omit<Op, 'outputs'>, outShape);
}

/** ONNX binary op → IR kind (Div becomes a MUL by the reciprocal constant). */
const BINARY_KIND: Record<string, string> = {
  Add: 'add',
  Sub: 'sub',
  Mul: 'mul',
  Div: 'div',
  Max: 'maximum',
  Min: 'minimum',
};

function arithmetic(n: OnnxNode) {
  const [ka, kb] = [n.constOf(n.ins[0]), n.constOf(n.ins[1])];
  let kind = BINARY_KIND[n.opType];
  if (kind === 'div') {
    if (!kb) throw n.error('Div is supported only by a constant');
    kind = 'mul';
  }
  const k = ka ?? kb;
  if (k) {
    const a = n.needAct(ka ? n.ins[1] : n.ins[0]);
    const operand = n.opType === 'Div' ? { ...k, data: k.data.map((v) => 1 / v), quant: undefined } : k;
    if (operand.data.some((v) => !Number.isFinite(v))) throw n.error('divides by a zero constant');
    const c = n.constLike(operand, a, 'operand');
    n.emit(
      { kind, inputs: ka ? [c, a.phys] : [a.phys, c], attrs: {} } as Omit<Op, 'outputs'>,
      a.shape,
      a.map,
      n.cx.storedOf(a),
    );
    return;
  }
  let [a, b] = [n.needAct(n.ins[0]), n.needAct(n.ins[1])];
  const whole = (v: Act) => numel(n.cx.storedOf(v)) === numel(v.shape);
  if (a.map && b.map && sameArray(a.shape, b.shape) && sameArray(a.map, b.map) && whole(a) && whole(b)) {
    n.emit({ kind, inputs: [a.phys, b.phys], attrs: {} } as Omit<Op, 'outputs'>, a.shape, a.map, n.cx.storedOf(a));
    return;
  }
  // Different ranks: lift the lower one by leading 1s (a free view when its layout does not change).
  const rank = Math.max(a.shape.length, b.shape.length);
  const lift = (v: Act, tag: string) =>
    v.shape.length === rank
      ? v
      : n.view(
          `${n.name}/${tag}`,
          v,
          [...new Array(rank - v.shape.length).fill(1), ...v.shape],
          n.mapOf(v),
          `${n.name}/${tag}`,
        );
  [a, b] = [lift(a, 'lhs'), lift(b, 'rhs')];
  n.emit(
    { kind, inputs: [n.canonical(a), n.canonical(b)], attrs: {} } as Omit<Op, 'outputs'>,
    broadcastShapes(a.shape, b.shape),
  );
}

/**
 * Inference batch norm over channel axis 1, at any rank. A canonical 4-D input becomes an IR batchnorm (stored NHWC:
 * channels innermost, foldable into the conv before it); any other rank or view becomes MUL by γ/σ then ADD of
 * β − μ·γ/σ with constants shaped [C,1,…] so they broadcast along axis 1 (BatchNorm1d [N,C,L], BatchNorm3d).
 */
function BatchNormalization(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  if (a.shape.length < 2) throw n.error(`input [${a.shape}] has no channel axis`);
  const C = a.shape[1];
  const [gamma, beta, mean, variance] = n.ins.slice(1, 5).map((p, i) => {
    const c = n.needConst(p, `input ${i + 1}`);
    if (c.data.length !== C) throw n.error(`input ${i + 1} has ${c.data.length} values for ${C} channels`);
    return c.data;
  });
  if (n.ins.length < 5) throw n.error('needs scale, bias, mean and variance inputs');
  const epsilon = n.float('epsilon', 1e-5);
  if (a.shape.length === 4 && n.cx.isCanonical(a)) {
    const parts = [gamma, beta, mean, variance].map((d, i) => n.cx.addConst(`${n.name}/p${i}`, [C], d));
    n.emit(
      { kind: 'batchnorm', inputs: [a.phys, ...parts], attrs: { epsilon, axis: 3 } } as Omit<Op, 'outputs'>,
      a.shape,
    );
    return;
  }
  const scale = gamma.map((g, c) => g / Math.sqrt(variance[c] + epsilon));
  const dims = [C, ...new Array(a.shape.length - 2).fill(1)];
  const scaled = n.constLike({ dims, data: scale, type: FLOAT }, a, 'scale');
  const shift = n.constLike({ dims, data: beta.map((b, c) => b - mean[c] * scale[c]), type: FLOAT }, a, 'shift');
  const stored = n.cx.storedOf(a);
  const product = n.step('mul', { kind: 'mul', inputs: [a.phys, scaled], attrs: {} }, stored);
  n.emit({ kind: 'add', inputs: [product, shift], attrs: {} } as Omit<Op, 'outputs'>, a.shape, a.map, stored);
}

const UNARY_KIND: Record<string, string> = {
  Relu: 'relu',
  Sigmoid: 'sigmoid',
  Tanh: 'tanh',
  LeakyRelu: 'leaky_relu',
  Clip: 'clip',
  HardSwish: 'hard_swish',
};
function unary(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const attrs =
    n.opType === 'LeakyRelu'
      ? { alpha: n.float('alpha', 0.01) }
      : n.opType === 'Clip'
        ? {
            min: n.constOf(n.ins[1])?.data[0] ?? n.float('min', -Infinity),
            max: n.constOf(n.ins[2])?.data[0] ?? n.float('max', Infinity),
          }
        : {};
  n.emit(
    { kind: UNARY_KIND[n.opType], inputs: [a.phys], attrs } as Omit<Op, 'outputs'>,
    a.shape,
    a.map,
    n.cx.storedOf(a),
  );
}

/** Each element-wise ONNX op on one activation as its function of x, with its attributes (defaults per the spec). */
const ELEMENTWISE_EXPR: Record<string, (n: OnnxNode) => Expr> = {
  Elu: (n) => applied('elu', n.float('alpha', 1)),
  Celu: (n) => applied('celu', n.float('alpha', 1)),
  Selu: (n) => applied('selu', n.float('alpha', 1.6732631921768188), n.float('gamma', 1.0507010221481323)),
  HardSigmoid: (n) => applied('hard_sigmoid', n.float('alpha', 0.2), n.float('beta', 0.5)),
  ThresholdedRelu: (n) => applied('thresholded_relu', n.float('alpha', 1)),
  Shrink: (n) => applied('shrink', n.float('bias', 0), n.float('lambd', 0.5)),
  Gelu: (n) => {
    const approximate = n.str('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh')
      throw n.error(`Gelu approximate '${approximate}' is not one of 'none', 'tanh'`);
    return applied('gelu', approximate === 'tanh' ? 1 : 0);
  },
  Mish: () => ({ f: 'mul', args: ['x', { f: 'tanh', args: [applied('softplus')] }] }),
  Exp: () => applied('exp'),
  Log: () => applied('log'),
  Abs: () => applied('abs'),
  Neg: () => applied('neg'),
  Sqrt: () => applied('sqrt'),
  Reciprocal: () => applied('reciprocal'),
  Erf: () => applied('erf'),
  Softplus: () => applied('softplus'),
  Softsign: () => applied('softsign'),
  Sign: () => applied('sign'),
  Floor: () => applied('floor'),
  Ceil: () => applied('ceil'),
  Round: () => applied('round'),
};

/** Emits an element-wise op of activation a: its output keeps a's shape and layout. */
function emitLike(n: OnnxNode, a: Act, op: Omit<Op, 'outputs'>) {
  n.emit(op, a.shape, a.map, n.cx.storedOf(a));
}

function elementwise(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  emitLike(n, a, { kind: 'elementwise', inputs: [a.phys], attrs: { expr: ELEMENTWISE_EXPR[n.opType](n) } });
}

/**
 * Pow, Max and Min of one activation with scalar constants (in either position): an element-wise function of it.
 * Max/Min are variadic (a Max of one input is the identity); of two tensors otherwise, MAXIMUM/MINIMUM.
 */
function withScalars(n: OnnxNode) {
  const actIndex = n.ins.findIndex((name) => n.actOf(name));
  if (actIndex < 0) throw n.error('has no activation input');
  const scalars = n.ins.every((name, k) => k === actIndex || n.constOf(name)?.data.length === 1);
  if (!scalars && n.opType !== 'Pow' && n.ins.length === 2) {
    arithmetic(n);
    return;
  }
  const a = n.needAct(n.ins[actIndex]);
  const f = n.opType === 'Pow' ? 'pow' : n.opType === 'Max' ? 'max' : 'min';
  let expr: Expr = 'x';
  n.ins.forEach((name, k) => {
    if (k === actIndex) return;
    const c = n.constOf(name);
    if (c?.data.length !== 1)
      throw n.error(`${n.opType} is supported of one activation and scalar constants (input ${k} is not one)`);
    expr = { f, args: k < actIndex ? [c.data[0], expr] : [expr, c.data[0]] };
  });
  emitLike(n, a, { kind: 'elementwise', inputs: [a.phys], attrs: { expr } });
}

/** PRelu(x, slope): slope a constant broadcast to x (unidirectionally), typically one value per channel. */
function PRelu(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const slope = n.constOf(n.ins[1]);
  if (!slope) throw n.error('the slope must be a constant');
  emitLike(n, a, { kind: 'prelu', inputs: [a.phys, n.constLike(slope, a, 'slope')], attrs: {} });
}

/**
 * MaxPool / AveragePool, 1-D or 2-D, with explicit or automatic pads, `ceil_mode` (the clipped last windows: TFLM's
 * kernels clip every window to the input) and `count_include_pad` (the pads made explicit zeros, then pooled).
 */
function pool(n: OnnxNode) {
  const oneD = isOneD(n, n.needAct(n.ins[0]), 'pooling');
  const a = as2D(n, n.needAct(n.ins[0]));
  const k = windowPair(n, 'kernel_shape', 0, oneD);
  const st = windowPair(n, 'strides', 1, oneD);
  if (n.ints('dilations', []).some((d) => d !== 1))
    throw n.error(`dilations [${n.ints('dilations', [])}] are not supported (TFLM's pooling kernels have none)`);
  const ceil = n.int('ceil_mode', 0) === 1;
  let x = n.canonical(a);
  let pads = padsOf(n, a, st, k, oneD);
  let [H, W] = [a.shape[2], a.shape[3]];
  const [oh, ow] = [0, 1].map((d) =>
    windowOutSize(
      a.shape[2 + d],
      pads[d] + pads[d + 2],
      k[d],
      st[d],
      n.where,
      ceil ? { padBefore: pads[d] } : undefined,
    ),
  );
  if (n.opType === 'AveragePool' && n.int('count_include_pad', 0) && pads.some((p) => p > 0)) {
    // Padded taps count as zeros: pad explicitly, then pool without padding (a ceil_mode window past the pads is
    // clipped to them, as PyTorch and onnxruntime divide it).
    [H, W] = [H + pads[0] + pads[2], W + pads[1] + pads[3]];
    x = n.step(
      'padded',
      { kind: 'pad', inputs: [x], attrs: { pads: [0, pads[0], pads[1], 0, 0, pads[2], pads[3], 0], value: 0 } },
      [1, H, W, a.shape[1]],
    );
    pads = [0, 0, 0, 0];
  }
  emitWindow(
    n,
    {
      kind: n.opType === 'MaxPool' ? 'max_pool' : 'avg_pool',
      inputs: [x],
      attrs: { kernel: k, strides: st, pads },
    } as Omit<Op, 'outputs'>,
    [1, a.shape[1], oh, ow],
    oneD,
  );
}

/** GlobalMaxPool: one max pool over the whole (1-D or 2-D) map. */
function GlobalMaxPool(n: OnnxNode) {
  const oneD = isOneD(n, n.needAct(n.ins[0]), 'pooling');
  const a = as2D(n, n.needAct(n.ins[0]));
  const [, C, H, W] = a.shape;
  emitWindow(
    n,
    {
      kind: 'max_pool',
      inputs: [n.canonical(a)],
      attrs: { kernel: [H, W], strides: [1, 1], pads: [0, 0, 0, 0] },
    } as Omit<Op, 'outputs'>,
    [1, C, 1, 1],
    oneD,
  );
}

/**
 * GlobalAveragePool, and ReduceMean over the spatial axes of a 4-D map or the length of a 3-D [N, C, L] one: MEAN;
 * every other reduction: reduce().
 */
function mean(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const rank = a.shape.length;
  const global = n.opType === 'GlobalAveragePool';
  const spatial = rank === 3 ? [2] : [2, 3];
  const axes = global ? spatial : reduceAxes(n, rank);
  const keep = global || n.int('keepdims', 1) === 1;
  if ((rank !== 3 && rank !== 4) || axes?.join() !== spatial.join()) {
    if (global) throw n.error(`GlobalAveragePool needs a 3-D or 4-D input (got [${a.shape}])`);
    return reduce(n);
  }
  const C = a.shape[1];
  const op = { kind: 'mean', inputs: [n.canonical(as2D(n, a))], attrs: { axes: [1, 2], keepDims: keep } };
  if (!keep) n.emit(op as Omit<Op, 'outputs'>, [1, C], undefined, [1, C]);
  else emitWindow(n, op as Omit<Op, 'outputs'>, [1, C, 1, 1], rank === 3);
}

/** The reduced axes, sorted (all when none are given), or undefined for noop_with_empty_axes (an identity). */
function reduceAxes(n: OnnxNode, rank: number): number[] | undefined {
  const axes = [...new Set(n.axesOf(rank, []))].sort((p, q) => p - q);
  if (axes.length) return axes;
  return n.int('noop_with_empty_axes', 0) ? undefined : [...Array(rank).keys()];
}

const REDUCER: Record<string, 'mean' | 'sum' | 'max'> = { ReduceMean: 'mean', ReduceSum: 'sum', ReduceMax: 'max' };

/**
 * ReduceMean / ReduceSum / ReduceMax on any axes: one REDUCE over `count` values `inner` apart. Where the stored
 * order already holds each output's values as such a block (the last axis, H·W of NHWC, the channels), the input
 * is read as it is and the output is a view in that order; otherwise one GATHER_STRIDED first moves the reduced
 * axes innermost.
 */
function reduce(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const rank = a.shape.length;
  const axes = reduceAxes(n, rank);
  if (!axes) {
    n.cx.acts.set(n.out, a);
    return;
  }
  const keep = n.int('keepdims', 1) === 1;
  const outShape = keep
    ? a.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : a.shape.filter((_, i) => !axes.includes(i));
  const kept = [...a.shape.keys()].filter((d) => !axes.includes(d));
  const order = transposeIndex(a.shape, [...kept, ...axes]);
  const count = numel(axes.map((d) => a.shape[d]));
  const outputs = numel(outShape);
  // order[j] is the logical element at position j of [kept..., reduced...]: output j / count, reduced index j % count.
  let x = a.phys;
  let block = n.cx.isCanonical(a) || !a.map ? reduceBlock(n.mapOf(a), order, count, outputs) : undefined;
  if (!block) {
    x = n.rowMajor({ phys: a.phys, shape: [outputs, count], map: Int32Array.from(order, (i) => n.mapOf(a)[i]) });
    block = { outer: outputs, inner: 1, outMap: Int32Array.from({ length: outputs }, (_, i) => i) };
  }
  const { outer, inner, outMap } = block;
  const attrs = { reducer: REDUCER[n.opType], outer, count, inner };
  if (sameArray(outMap, canonicalMap(outShape)))
    n.emit({ kind: 'reduce', inputs: [x], attrs } as Omit<Op, 'outputs'>, outShape);
  else n.emit({ kind: 'reduce', inputs: [x], attrs } as Omit<Op, 'outputs'>, outShape, outMap, [outer * inner]);
}

/**
 * Whether a whole, stored tensor holds each output's `count` values as a block x[(o·count + r)·inner + i]: its
 * outer/inner split and where output k lands (o·inner + i), or undefined.
 */
function reduceBlock(map: Int32Array, order: Int32Array, count: number, outputs: number) {
  const stored = (k: number, r: number) => map[order[k * count + r]];
  const inner = count > 1 ? stored(0, 1) - stored(0, 0) : 1;
  if (!(inner >= 1) || outputs % inner !== 0) return undefined;
  const outer = outputs / inner;
  const outMap = new Int32Array(outputs);
  for (let k = 0; k < outputs; k++) {
    const s = stored(k, 0);
    const o = Math.floor(s / (count * inner)),
      i = s % inner;
    if (Math.floor(s / inner) % count !== 0) return undefined;
    for (let r = 1; r < count; r++) if (stored(k, r) !== s + r * inner) return undefined;
    outMap[k] = o * inner + i;
  }
  return { outer, inner, outMap };
}

function reshape(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  n.view(n.out, a, reshapedDims(n, a.shape), n.mapOf(a));
}

function Transpose(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const perm = n.ints(
    'perm',
    a.shape.map((_, i) => a.shape.length - 1 - i),
  );
  checkPerm(n, perm, a.shape.length);
  const map = n.mapOf(a);
  n.view(
    n.out,
    a,
    perm.map((p) => a.shape[p]),
    Int32Array.from(transposeIndex(a.shape, perm), (i) => map[i]),
  );
}

/** The view of `a` that keeps, along each axis d, the input coordinates picks[d] in that order (Slice, Split, Gather). */
function selectView(n: OnnxNode, a: Act, picks: number[][]): { shape: number[]; map: Int32Array } {
  const shape = picks.map((p) => p.length);
  if (shape.some((d) => d === 0)) throw n.error(`would produce an empty tensor [${shape}]; not supported`);
  const inMap = n.mapOf(a);
  const strides = stridesOf(a.shape);
  const map = new Int32Array(numel(shape));
  for (let i = 0; i < map.length; i++) {
    let src = 0;
    for (let d = shape.length - 1, rest = i; d >= 0; d--) {
      const c = rest % shape[d];
      rest = (rest - c) / shape[d];
      src += picks[d][c] * strides[d];
    }
    map[i] = inMap[src];
  }
  return { shape, map };
}

const mod = (i: number, size: number) => ((i % size) + size) % size;
const allOf = (size: number) => Array.from({ length: size }, (_, i) => i);

function Slice(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const picks = sliceRanges(n, a.shape).map((r) => Array.from({ length: r.count }, (_, k) => r.start + k * r.step));
  const v = selectView(n, a, picks);
  n.view(n.out, a, v.shape, v.map);
}

/** Split into views along `axis`: sizes from the `split` attribute (opsets < 13) or input, or equal parts. */
function Split(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const axis = normalizeAxis(n.int('axis', 0), a.shape.length, n.where);
  const size = a.shape[axis];
  const given = n.ins[1] ? Array.from(n.needConst(n.ins[1], 'split').data) : n.ints('split', []);
  const parts = n.int('num_outputs', n.outs.length);
  if (parts !== n.outs.length) throw n.error(`num_outputs ${parts} but ${n.outs.length} outputs`);
  // Equal parts, the last one smaller when the size does not divide (opset 18).
  const chunk = Math.ceil(size / parts);
  const sizes = given.length ? given : n.outs.map((_, k) => Math.min(chunk, size - k * chunk));
  if (sizes.length !== n.outs.length || sizes.some((s) => !(s > 0)) || sizes.reduce((t, s) => t + s, 0) !== size)
    throw n.error(`split [${sizes}] does not divide axis ${axis} of [${a.shape}] into ${n.outs.length} parts`);
  let start = 0;
  n.outs.forEach((out, k) => {
    const picks = a.shape.map((d, i) =>
      i === axis ? Array.from({ length: sizes[k] }, (_, j) => start + j) : allOf(d),
    );
    const v = selectView(n, a, picks);
    n.view(out, a, v.shape, v.map, `${n.name}/${k}`);
    start += sizes[k];
  });
}

/** Gather of an activation with constant indices: a view (copied by GATHER_STRIDED where it must be). */
function Gather(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const idx = n.needConst(n.ins[1], 'the indices');
  const axis = normalizeAxis(n.int('axis', 0), a.shape.length, n.where);
  const size = a.shape[axis];
  const indices = Array.from(idx.data, (i) => {
    if (!(i >= -size && i < size)) throw n.error(`index ${i} is out of range for axis ${axis} of size ${size}`);
    return i < 0 ? i + size : i;
  });
  const v = selectView(
    n,
    a,
    a.shape.map((d, i) => (i === axis ? indices : allOf(d))),
  );
  n.view(n.out, a, n.sized([...a.shape.slice(0, axis), ...idx.dims, ...a.shape.slice(axis + 1)]), v.map);
}

function Concat(n: OnnxNode) {
  const parts = n.ins.map((name) => ({ a: n.actOf(name), k: n.constOf(name) }));
  const first = parts.find((p) => p.a)?.a;
  if (!first) throw n.error('has no activation input');
  const rank = first.shape.length;
  const axis = normalizeAxis(n.int('axis', 0), rank, n.where);
  for (const p of parts) {
    const s = p.a?.shape ?? p.k?.dims;
    if (!s) throw n.error('an input is not defined');
    if (s.length !== rank || s.some((d, i) => i !== axis && d !== first.shape[i]))
      throw n.error(`input [${s}] does not fit [${first.shape}] along axis ${axis}`);
  }
  const names = parts.map((p, i) =>
    p.a ? n.canonical(p.a) : n.constLike(p.k!, { phys: '', shape: p.k!.dims }, `part${i}`),
  );
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, p) => s + (p.a?.shape ?? p.k!.dims)[axis], 0);
  n.emit(
    { kind: 'concat', inputs: names, attrs: { axis: rank === 4 ? NCHW_TO_NHWC.indexOf(axis) : axis } } as Omit<
      Op,
      'outputs'
    >,
    shape,
  );
}

/**
 * Pad: 'constant' as PAD; 'reflect' and 'edge' as MIRROR_PAD (TFLite's REFLECT, and Morsel's EDGE); opset 19's
 * 'wrap' (circular) as a view that picks index (i − before) mod size along each axis.
 */
function Pad(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const mode = n.str('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap')
    throw n.error(`Pad mode '${mode}' is not supported (constant, reflect, edge, wrap)`);
  const rank = a.shape.length;
  const raw = n.ins[1] ? Array.from(n.needConst(n.ins[1], 'pads').data) : n.ints('pads', []);
  const axes = n.ins[3]
    ? Array.from(n.needConst(n.ins[3], 'axes').data).map((x) => normalizeAxis(x, rank, n.where))
    : a.shape.map((_, i) => i);
  if (raw.length !== 2 * axes.length) throw n.error(`${raw.length} pads for ${axes.length} axes`);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((ax, i) => {
    pads[ax] = raw[i];
    pads[rank + ax] = raw[axes.length + i];
  });
  const value = n.ins[2] ? n.needConst(n.ins[2], 'the pad value').data[0] : n.float('value', 0);
  if (pads.some((p) => p < 0)) throw n.error('negative pads (cropping) are not supported');
  if (pads[0] || pads[rank]) throw n.error('padding the batch dimension is not supported');
  if (pads.every((p) => p === 0)) {
    n.cx.acts.set(n.out, a);
    return;
  }
  const shape = n.sized(a.shape.map((d, i) => d + pads[i] + pads[rank + i]));
  if (mode === 'wrap') {
    const picks = shape.map((d, ax) => Array.from({ length: d }, (_, i) => mod(i - pads[ax], a.shape[ax])));
    n.view(n.out, a, shape, selectView(n, a, picks).map);
    return;
  }
  const order = rank === 4 ? NCHW_TO_NHWC : a.shape.map((_, i) => i);
  const stored = [...order.map((i) => pads[i]), ...order.map((i) => pads[rank + i])];
  if (mode === 'reflect' && a.shape.some((d, i) => pads[i] >= d || pads[rank + i] >= d))
    throw n.error(`reflect pads [${pads}] must be smaller than the dimensions [${a.shape}] they mirror`);
  n.emit(
    (mode === 'constant'
      ? { kind: 'pad', inputs: [n.canonical(a)], attrs: { pads: stored, value } }
      : { kind: 'mirror_pad', inputs: [n.canonical(a)], attrs: { pads: stored, mode } }) as Omit<Op, 'outputs'>,
    shape,
  );
}

/** ONNX's nearest source index of output `o` along an axis (Resize's coordinate transformation, then nearest_mode). */
function onnxNearest(o: number, inSize: number, outSize: number, scale: number, transform: string, mode: string) {
  const x =
    transform === 'asymmetric'
      ? o / scale
      : transform === 'align_corners'
        ? outSize === 1
          ? 0
          : (o * (inSize - 1)) / (outSize - 1)
        : transform === 'tf_half_pixel_for_nn'
          ? (o + 0.5) / scale
          : transform === 'pytorch_half_pixel' && outSize === 1
            ? 0
            : transform === 'half_pixel_symmetric'
              ? (inSize / 2) * (1 - outSize / (scale * inSize)) + (o + 0.5) / scale - 0.5
              : (o + 0.5) / scale - 0.5;
  const frac = x - Math.floor(x);
  const i =
    mode === 'floor'
      ? Math.floor(x)
      : mode === 'ceil'
        ? Math.ceil(x)
        : frac === 0.5
          ? mode === 'round_prefer_ceil'
            ? Math.ceil(x)
            : Math.floor(x)
          : Math.round(x);
  return Math.min(Math.max(i, 0), inSize - 1);
}

/**
 * Resize (opsets 10–21) and Upsample in mode 'nearest' on a 4-D map: as TFLite's RESIZE_NEAREST_NEIGHBOR when the
 * model's coordinate_transformation_mode and nearest_mode pick, on this model's sizes, the same source pixels as one
 * of its align_corners / half_pixel_centers settings; else refused, naming them.
 */
function Resize(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  if (a.shape.length !== 4) throw n.error(`only 4-D (NCHW) resizing is supported (input [${a.shape}])`);
  const mode = n.str('mode', 'nearest');
  const linear = mode === 'linear' || (mode === 'bilinear' && n.opType === 'Upsample');
  if (mode !== 'nearest' && !linear) throw n.error(`mode '${mode}' is not supported (nearest, linear)`);
  for (const k of ['antialias', 'axes', 'keep_aspect_ratio_policy'])
    if (n.has(k)) throw n.error(`attribute ${k} is not supported`);
  if (n.int('exclude_outside', 0) !== 0) throw n.error('exclude_outside 1 is not supported');
  const opset11 = n.opType === 'Resize' && n.cx.opset >= 11;
  // Resize-10 and Upsample: asymmetric coordinates, rounded down when enlarging (as onnxruntime does).
  const transform = opset11 ? n.str('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  if (transform === 'tf_crop_and_resize')
    throw n.error(`coordinate_transformation_mode '${transform}' is not supported`);
  const nearest = opset11 ? n.str('nearest_mode', 'round_prefer_floor') : 'floor';
  const scalesIn = n.opType === 'Upsample' && n.cx.opset < 9 ? undefined : n.ins[opset11 ? 2 : 1];
  const scales = scalesIn ? n.constOf(scalesIn)?.data : n.floats('scales');
  const sizes = opset11 && n.ins[3] ? n.needConst(n.ins[3], 'sizes').data : undefined;
  const [, C, H, W] = a.shape;
  let out: number[];
  let scale: number[];
  if (sizes?.length) {
    out = Array.from(sizes);
    scale = [out[2] / H, out[3] / W];
  } else if (scales?.length === 4) {
    scale = [scales[2], scales[3]];
    out = [1, C, Math.floor(H * scale[0]), Math.floor(W * scale[1])];
    if (scales[0] !== 1 || scales[1] !== 1) throw n.error(`scales [${Array.from(scales)}] resize N or C`);
  } else throw n.error('needs constant scales (4 values) or sizes');
  if (out.length !== 4 || out[0] !== 1 || out[1] !== C || !(out[2] >= 1 && out[3] >= 1))
    throw n.error(`output [${out}] must keep N and C of [${a.shape}]`);
  if (!opset11 && (scale[0] < 1 || scale[1] < 1)) throw n.error(`scales below 1 are not supported before opset 11`);
  if (linear) return resizeBilinear(n, a, out, scale, transform);
  const onnxSources = [0, 1].map((d) =>
    Array.from({ length: out[2 + d] }, (_, o) =>
      onnxNearest(o, a.shape[2 + d], out[2 + d], scale[d], transform, nearest),
    ),
  );
  const flags = [
    [false, false],
    [false, true],
    [true, false],
  ].find(([align, half]) =>
    [0, 1].every((d) => sameArray(tfliteNearestSources(a.shape[2 + d], out[2 + d], align, half), onnxSources[d])),
  );
  if (!flags)
    throw n.error(
      `coordinate_transformation_mode '${transform}' with nearest_mode '${nearest}' picks pixels TFLite's RESIZE_NEAREST_NEIGHBOR does not (for [${a.shape}] to [${out}]); not supported`,
    );
  n.emit(
    {
      kind: 'resize_nearest',
      inputs: [n.canonical(a)],
      attrs: { alignCorners: flags[0], halfPixelCenters: flags[1] },
    } as Omit<Op, 'outputs'>,
    out,
  );
}

/**
 * Resize / Upsample 'linear' on a 4-D map as TFLite's RESIZE_BILINEAR: half_pixel (and pytorch_half_pixel when no
 * output size is 1) is half_pixel_centers, align_corners is align_corners, asymmetric neither. TFLite maps output to
 * input by the sizes' ratio, so a scale that is not exactly output/input is refused, as are the other transforms.
 */
function resizeBilinear(n: OnnxNode, a: Act, out: number[], scale: number[], transform: string) {
  // The scale is output/input (checked below), so opset 19's half_pixel_symmetric shifts by nothing: half_pixel.
  const flags: Record<string, [boolean, boolean]> = {
    half_pixel: [false, true],
    half_pixel_symmetric: [false, true],
    pytorch_half_pixel: [false, true],
    align_corners: [true, false],
    asymmetric: [false, false],
  };
  if (!Object.hasOwn(flags, transform) || (transform === 'pytorch_half_pixel' && (out[2] === 1 || out[3] === 1)))
    throw n.error(
      `coordinate_transformation_mode '${transform}' is not supported for linear resizing (output [${out}])`,
    );
  for (const d of [0, 1])
    if (Math.fround(out[2 + d] / a.shape[2 + d]) !== Math.fround(scale[d]))
      throw n.error(`scale ${scale[d]} is not output/input (${out[2 + d]}/${a.shape[2 + d]}); not supported`);
  const [alignCorners, halfPixelCenters] = flags[transform];
  n.emit(
    { kind: 'resize_bilinear', inputs: [n.canonical(a)], attrs: { alignCorners, halfPixelCenters } } as Omit<
      Op,
      'outputs'
    >,
    out,
  );
}

function Softmax(n: OnnxNode) {
  normaliseRows(n, { kind: 'softmax', attrs: { axis: -1, beta: 1 } });
}

function LogSoftmax(n: OnnxNode) {
  normaliseRows(n, { kind: 'log_softmax', attrs: { axis: -1 } });
}

/**
 * Softmax and LogSoftmax: the device op normalises the last axis of rows, so the ONNX axis (opset ≥ 13) or the
 * flattened shape[axis:] (before 13) becomes those rows.
 */
function normaliseRows(
  n: OnnxNode,
  rowOp: { kind: 'softmax'; attrs: { axis: -1; beta: 1 } } | { kind: 'log_softmax'; attrs: { axis: -1 } },
) {
  const a = n.needAct(n.ins[0]);
  const rank = a.shape.length;
  const opset = n.cx.opset;
  // Before opset 13, Softmax normalises over the flattened shape[axis:], not just one axis.
  const axis = normalizeAxis(n.int('axis', opset >= 13 ? -1 : 1), rank, n.where);
  const rows = opset >= 13 ? a.shape : [numel(a.shape.slice(0, axis)), numel(a.shape.slice(axis))];
  const rowAxis = opset >= 13 ? axis : 1;
  const K = rows[rowAxis];
  const stride = numel(rows.slice(rowAxis + 1));
  const map = n.mapOf(a);
  // The device normalises aligned runs of K stored values. Neither op cares about order within a row, so each
  // logical row must fill one such run (its output keeps the input's map).
  const runOfRow = new Map<number, number>();
  const contiguous = map.every((s, i) => {
    const row = Math.floor(i / (K * stride)) * stride + (i % stride);
    const run = Math.floor(s / K);
    if (!runOfRow.has(row)) runOfRow.set(row, run);
    return runOfRow.get(row) === run;
  });
  if (!contiguous) {
    // Copy the rows into place (row-major, the softmax axis last) once; the result is a view in that order.
    const perm = opset >= 13 ? [...a.shape.keys()].filter((d) => d !== axis).concat(axis) : [...a.shape.keys()];
    const order = transposeIndex(a.shape, perm);
    const rowShape = [numel(a.shape) / K, K];
    const rowsIn = n.rowMajor(
      { phys: a.phys, shape: perm.map((d) => a.shape[d]), map: Int32Array.from(order, (i) => map[i]) },
      rowShape,
    );
    n.emit({ ...rowOp, inputs: [rowsIn] } as Omit<Op, 'outputs'>, a.shape, inversePermutation(order), rowShape);
    return;
  }
  const stored = n.cx.storedOf(a);
  if (stored[stored.length - 1] === K) {
    n.emit({ ...rowOp, inputs: [a.phys] } as Omit<Op, 'outputs'>, a.shape, a.map, stored);
    return;
  }
  const rowShape = [numel(stored) / K, K];
  const rowsName = n.step('to_rows', { kind: 'reshape', inputs: [a.phys], attrs: { shape: rowShape } }, rowShape);
  const result = n.step(rowOp.kind, { ...rowOp, inputs: [rowsName] } as Omit<Op, 'outputs'>, rowShape);
  n.emit(
    { kind: 'reshape', inputs: [result], attrs: { shape: stored } } as Omit<Op, 'outputs'>,
    a.shape,
    a.map,
    stored,
  );
}

/**
 * LayerNormalization (opset 17; torch's exported ReduceMean/Sub/Pow/Sqrt/Div pattern arrives here fused, see
 * ./fuse-layernorm.ts): rows of shape[axis:] in row-major order, one LAYER_NORM.
 */
function LayerNormalization(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const axis = normalizeAxis(n.int('axis', -1), a.shape.length, n.where);
  if (n.outs.slice(1).some((o) => o)) throw n.error('the Mean and InvStdDev outputs are not supported');
  const inner = a.shape.slice(axis);
  const count = numel(inner);
  const param = (k: number, what: string, absent: number) => {
    if (!n.ins[k]) return new Array<number>(count).fill(absent);
    const c = n.needConst(n.ins[k], what);
    if (!sameArray(broadcastShapes(inner, c.dims), inner))
      throw n.error(`${what} [${c.dims}] does not broadcast to the normalized shape [${inner}]`);
    return Array.from(broadcastIndex(c.dims, inner), (i) => c.data[i]);
  };
  const gamma = n.cx.addConst(`${n.name}/gamma`, [count], param(1, 'the scale', 1));
  const beta = n.cx.addConst(`${n.name}/beta`, [count], param(2, 'the bias', 0));
  const x = n.rowMajor(a, [numel(a.shape) / count, count]);
  emitRowMajor(
    n,
    { kind: 'layer_norm', inputs: [x, gamma, beta], attrs: { count, epsilon: n.float('epsilon', 1e-5) } } as Omit<
      Op,
      'outputs'
    >,
    a.shape,
  );
}

function QuantizeLinear(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const scale = n.needConst(n.ins[1], 'the scale');
  const zp = n.constOf(n.ins[2]);
  refuseBlockQuantization(n);
  if (numel(scale.dims) !== 1) throw n.error('activations must be quantized per tensor');
  const type = quantizedType(n, zp);
  if (!(scale.data[0] > 0)) throw n.error(`scale ${scale.data[0]} must be positive`);
  // uint8 with zero point z has the same real values as int8 with zero point z − 128.
  const quant: Quant = {
    scale: [Math.fround(scale.data[0])],
    zeroPoint: [(zp?.data[0] ?? 0) - (type === UINT8 ? 128 : 0)],
  };
  const t = n.cx.g.tensors.get(a.phys)!;
  if (t.quant && (t.quant.scale[0] !== quant.scale[0] || t.quant.zeroPoint[0] !== quant.zeroPoint[0]))
    throw n.error(`tensor '${a.phys}' is quantized twice with different parameters`);
  t.quant = quant;
  n.cx.quantized.set(n.out, a);
}

function DequantizeLinear(n: OnnxNode) {
  const a = n.cx.quantized.get(n.ins[0]);
  if (!a)
    throw n.error(
      'DequantizeLinear is supported on constants and on QuantizeLinear outputs only (int8 graph inputs are not)',
    );
  n.cx.acts.set(n.out, a);
}

/** ONNX op → its handler on activations. */
export const ONNX_HANDLERS: Record<string, Handler> = {
  Conv,
  Gemm,
  MatMul: Gemm,
  Add: arithmetic,
  Sub: arithmetic,
  Mul: arithmetic,
  Div: arithmetic,
  BatchNormalization,
  Relu: unary,
  Clip: unary,
  LeakyRelu: unary,
  Sigmoid: unary,
  Tanh: unary,
  HardSwish: unary,
  ...Object.fromEntries(Object.keys(ELEMENTWISE_EXPR).map((op) => [op, elementwise])),
  Pow: withScalars,
  PRelu,
  Max: withScalars,
  Min: withScalars,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: mean,
  GlobalMaxPool,
  ReduceMean: mean,
  ReduceSum: reduce,
  ReduceMax: reduce,
  Flatten: reshape,
  Reshape: reshape,
  Transpose,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Concat,
  Slice,
  Split,
  Gather,
  Softmax,
  LogSoftmax,
  LayerNormalization,
  Pad,
  Resize,
  Upsample: Resize,
  QuantizeLinear,
  DequantizeLinear,
  Constant,
  Identity,
  Dropout: Identity,
  LSTM,
  GRU,
  ConvTranspose,
};
