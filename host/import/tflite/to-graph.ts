// A float32 .tflite → the float Graph IR (NHWC, TFLite's own weight layouts), for Morsel's calibration and
// quantizer. Fused activations become clamps; constants are copied out of the file. The converter's default
// "dynamic range" models keep some weights int8 with float scales (hybrid ops): those are dequantized, which is
// the float function the hybrid kernels approximate.

import { applied, type Expr } from '../../ir/elementwise';
import { type Clamp, type Graph, ModelError, newGraph, type Op, type Padding as Pads } from '../../ir/graph';
import type { TfliteModel, TfliteOperator, TfliteTensor } from './reader';
import { fusedClamp, int32Of } from './to-qmodel';
import { ActivationFunction, activationFunctionName, BuiltinOperator, builtinOperatorName, TensorType } from './schema';
import { stackRows, unrollRecurrent } from '../recurrent';
import { batchMatMulGeometry, gatherView, reduceGeometry } from './strided';
import { checkActivation, checkShape } from '../limits';
import { transposeConvPads, windowGeometry } from './padding';
import { elementsPerChannel } from '../../ir/shape';

const B = BuiltinOperator;

const clampOf = (op: TfliteOperator): Clamp | undefined =>
  fusedClamp(op, op.options.fused_activation_function as number | undefined);

/** One operator being imported: its tensors by IR name and the helpers every builtin's handler shares. */
interface Builtin {
  op: TfliteOperator;
  where: string;
  /** IR name of input k. */
  input(k: number): string;
  /** IR names of the inputs, the optional bias (input 2) only when present. */
  inputsWithBias(): string[];
  inShape(k: number): number[];
  isConstant(k: number): boolean;
  outShape: number[];
  y: string;
  constInts(k: number): number[];
  /** The graph being built, for a builtin that lowers to several IR ops (the last one is returned). */
  g: Graph;
}
type BuiltinHandler = (b: Builtin) => Op;

/** Strides, dilations and padding of a 2-D window op, checked against TFLite's output size. */
function window2d(b: Builtin, filter: [number, number], dilation: [number, number]) {
  const o = b.op.options;
  const stride: [number, number] = [o.stride_h as number, o.stride_w as number];
  for (const v of [...filter, ...stride, ...dilation])
    if (!Number.isSafeInteger(v) || v < 1)
      throw new ModelError(`${b.where}: window [${filter}] stride [${stride}] dilation [${dilation}] must be positive`);
  const xs = b.inShape(0);
  if (xs.length !== 4) throw new ModelError(`${b.where}: input [${xs}] is not 4-D`);
  const geom = windowGeometry(o.padding as number, xs, filter, stride, dilation, b.outShape, b.where);
  const total = (d: number) =>
    Math.max(0, (b.outShape[1 + d] - 1) * stride[d] + (filter[d] - 1) * dilation[d] + 1 - xs[1 + d]);
  const pads: Pads = [geom.pad_top, geom.pad_left, total(0) - geom.pad_top, total(1) - geom.pad_left];
  return { stride, pads };
}

/** The weights (input 1) of a conv or fully connected op: a constant, as the kernels need; returns their shape. */
function constantWeights(b: Builtin): number[] {
  if (!b.isConstant(1)) throw new ModelError(`${b.where}: the weights (input 1) must be a constant`);
  return b.inShape(1);
}

const conv: BuiltinHandler = (b) => {
  const dw = b.op.builtinCode === B.DEPTHWISE_CONV_2D;
  const ws = constantWeights(b);
  const o = b.op.options;
  const dilation: [number, number] = [o.dilation_h_factor as number, o.dilation_w_factor as number];
  const { stride, pads } = window2d(b, [ws[1], ws[2]], dilation);
  const inputs = b.inputsWithBias() as [string, string];
  const attrs = { strides: stride, dilations: dilation, pads, clamp: clampOf(b.op) };
  const C = b.inShape(0)[3];
  return dw
    ? {
        kind: 'depthwise_conv2d',
        inputs,
        outputs: [b.y],
        attrs: { ...attrs, group: C, multiplier: b.outShape[3] / C },
      }
    : { kind: 'conv2d', inputs, outputs: [b.y], attrs: { ...attrs, group: 1 } };
};

/** TRANSPOSE_CONV: inputs output shape, weights [oc, kh, kw, ic], input, optional bias; no dilation. */
const TRANSPOSE_CONV: BuiltinHandler = (b) => {
  const ws = constantWeights(b);
  const o = b.op.options;
  const strides: [number, number] = [o.stride_h as number, o.stride_w as number];
  const [top, left] = transposeConvPads(o.padding as number, b.outShape, [ws[1], ws[2]], strides);
  const full = [0, 1].map((d) => (b.inShape(2)[1 + d] - 1) * strides[d] + ws[1 + d]);
  const pads: Pads = [top, left, full[0] - top - b.outShape[1], full[1] - left - b.outShape[2]];
  const bias = b.op.inputs[3] !== undefined && b.op.inputs[3] >= 0 ? [b.input(3)] : [];
  return {
    kind: 'conv_transpose',
    inputs: [b.input(2), b.input(1), ...bias] as [string, string],
    outputs: [b.y],
    attrs: { strides, dilations: [1, 1], pads, group: 1, clamp: clampOf(b.op) },
  };
};

const FULLY_CONNECTED: BuiltinHandler = (b) => {
  constantWeights(b);
  if (b.op.options.weights_format !== 0)
    throw new ModelError(`${b.where}: shuffled weights format ${b.op.options.weights_format} is not supported`);
  return {
    kind: 'dense',
    inputs: b.inputsWithBias() as [string, string],
    outputs: [b.y],
    attrs: { clamp: clampOf(b.op) },
  };
};

const pool: BuiltinHandler = (b) => {
  const o = b.op.options;
  const kernel: [number, number] = [o.filter_height as number, o.filter_width as number];
  const { stride, pads } = window2d(b, kernel, [1, 1]);
  return {
    kind: b.op.builtinCode === B.MAX_POOL_2D ? 'max_pool' : 'avg_pool',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: { kernel, strides: stride, pads, clamp: clampOf(b.op) },
  };
};

/** TFLite's LSTM gates i, f, c, o: the inputs holding each gate's input weights, recurrent weights and bias. */
const LSTM_GATE_INPUTS = { i: [1, 5, 12], f: [2, 6, 13], c: [3, 7, 14], o: [4, 8, 15] } as const;
/** Optional inputs the unrolled cell does not compute: peepholes, projection, layer normalization. */
const LSTM_UNSUPPORTED_INPUTS: [number[], string][] = [
  [[9, 10, 11], 'peephole weights'],
  [[16, 17], 'a projection'],
  [[20, 21, 22, 23], 'layer normalization'],
];

/**
 * UNIDIRECTIONAL_SEQUENCE_LSTM (Keras LSTM through TF's converter), batch 1: unrolled over its fixed sequence by
 * host/import/recurrent.ts as ONNX's LSTM is, its gates reordered from TFLite's i, f, c, o to ONNX's i, o, f, c.
 */
const UNIDIRECTIONAL_SEQUENCE_LSTM: BuiltinHandler = (b) => {
  const o = b.op.options;
  const present = (k: number) => b.op.inputs[k] !== undefined && b.op.inputs[k] >= 0;
  if (o.fused_activation_function !== ActivationFunction.TANH)
    throw new ModelError(
      `${b.where}: cell activation ${activationFunctionName(o.fused_activation_function as number)} is not supported (TANH is)`,
    );
  if (o.cell_clip || o.proj_clip)
    throw new ModelError(`${b.where}: cell_clip ${o.cell_clip} / proj_clip ${o.proj_clip} are not supported (0 is)`);
  if (!present(1)) throw new ModelError(`${b.where}: a coupled input and forget gate (CIFG) is not supported`);
  for (const [inputs, what] of LSTM_UNSUPPORTED_INPUTS)
    if (inputs.some(present)) throw new ModelError(`${b.where}: ${what} is not supported`);
  const xs = b.inShape(0);
  const [steps, batch] = o.time_major ? [xs[0], xs[1]] : [xs[1], xs[0]];
  if (xs.length !== 3 || batch !== 1)
    throw new ModelError(`${b.where}: input [${xs}] is not one sequence ([1, steps, features] or time-major)`);
  const constant = (k: number) => {
    if (!b.isConstant(k)) throw new ModelError(`${b.where}: input ${k} must be a constant`);
    return b.g.tensors.get(b.input(k))!.data!;
  };
  const gates = ['i', 'o', 'f', 'c'] as const;
  const joined = (part: 0 | 1 | 2) => {
    const arrays = gates.map((gate) => constant(LSTM_GATE_INPUTS[gate][part]));
    const all = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    arrays.reduce((at, a) => (all.set(a, at), at + a.length), 0);
    return all;
  };
  const hidden = b.inShape(2)[0];
  // The state inputs are TFLite variables, zero at the start; a constant one is an initial state.
  const state = (k: number) => (present(k) && b.isConstant(k) ? b.input(k) : undefined);
  const x = `${b.y}/sequence`;
  b.g.tensors.set(x, { name: x, dtype: 'float32', shape: [steps, xs[2]] });
  b.g.nodes.push({
    name: x,
    op: { kind: 'reshape', inputs: [b.input(0)], outputs: [x], attrs: { shape: [steps, xs[2]] } },
  });
  const { ys } = unrollRecurrent(b.g, b.y, x, {
    cell: 'lstm',
    hidden,
    w: joined(0),
    r: joined(1),
    wb: joined(2),
    rb: new Float32Array(4 * hidden),
    linearBeforeReset: false,
    reverse: false,
    initialH: state(18),
    initialC: state(19),
  });
  const stacked = stackRows(b.g, `${b.y}/steps`, ys);
  return { kind: 'reshape', inputs: [stacked], outputs: [b.y], attrs: { shape: b.outShape.slice() } };
};

const ARITHMETIC: Record<number, 'add' | 'sub' | 'mul'> = { [B.ADD]: 'add', [B.SUB]: 'sub', [B.MUL]: 'mul' };
const arithmetic: BuiltinHandler = (b) => ({
  kind: ARITHMETIC[b.op.builtinCode],
  inputs: [b.input(0), b.input(1)],
  outputs: [b.y],
  attrs: { clamp: clampOf(b.op) },
});

const unary =
  (kind: 'sigmoid' | 'tanh' | 'relu' | 'hard_swish'): BuiltinHandler =>
  (b) => ({ kind, inputs: [b.input(0)], outputs: [b.y], attrs: {} });

const elementwise =
  (expr: (b: Builtin) => Expr): BuiltinHandler =>
  (b) => ({ kind: 'elementwise', inputs: [b.input(0)], outputs: [b.y], attrs: { expr: expr(b) } });

const CONCATENATION: BuiltinHandler = (b) => {
  const axis = b.op.options.axis as number;
  return {
    kind: 'concat',
    inputs: b.op.inputs.map((_, k) => b.input(k)),
    outputs: [b.y],
    attrs: { axis: axis < 0 ? axis + b.outShape.length : axis, clamp: clampOf(b.op) },
  };
};

/** TFLite pairs (before, after) per dimension; the IR lists all befores, then all afters (ONNX order). */
function irPads(b: Parameters<BuiltinHandler>[0]): number[] {
  const pairs = b.constInts(1);
  const rank = b.inShape(0).length;
  if (pairs.length !== 2 * rank)
    throw new ModelError(`${b.where}: paddings have ${pairs.length} values for a rank-${rank} input`);
  if (pairs.some((p) => p < 0)) throw new ModelError(`${b.where}: negative paddings [${pairs}]`);
  const befores = Array.from({ length: rank }, (_, d) => pairs[2 * d]);
  const afters = Array.from({ length: rank }, (_, d) => pairs[2 * d + 1]);
  return [...befores, ...afters];
}

const PAD: BuiltinHandler = (b) => ({
  kind: 'pad',
  inputs: [b.input(0)],
  outputs: [b.y],
  attrs: { pads: irPads(b), value: 0 },
});

const MIRROR_PAD: BuiltinHandler = (b) => {
  const mode = b.op.options.mode === 0 ? 'reflect' : b.op.options.mode === 1 ? 'symmetric' : undefined;
  if (!mode) throw new ModelError(`${b.where}: unknown MIRROR_PAD mode ${b.op.options.mode}`);
  return { kind: 'mirror_pad', inputs: [b.input(0)], outputs: [b.y], attrs: { pads: irPads(b), mode } };
};

const MEAN: BuiltinHandler = (b) => {
  const rank = b.inShape(0).length;
  return {
    kind: 'mean',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: { axes: b.constInts(1).map((a) => (a < 0 ? a + rank : a)), keepDims: b.op.options.keep_dims as boolean },
  };
};

/** GATHER of constant indices: the strided view they are (host/import/tflite/strided.ts). */
const GATHER: BuiltinHandler = (b) => {
  const o = b.op.options;
  const xs = b.inShape(0);
  if (o.batch_dims) throw new ModelError(`${b.where}: GATHER with batch_dims ${o.batch_dims} is not supported`);
  const axis = (o.axis as number) < 0 ? (o.axis as number) + xs.length : (o.axis as number);
  const attrs = gatherView(b.where, xs, axis, b.constInts(1), b.outShape);
  return { kind: 'gather_strided', inputs: [b.input(0)], outputs: [b.y], attrs };
};

/** SUM and REDUCE_MAX over adjacent constant axes. */
const reduce: BuiltinHandler = (b) => ({
  kind: 'reduce',
  inputs: [b.input(0)],
  outputs: [b.y],
  attrs: {
    reducer: b.op.builtinCode === B.SUM ? 'sum' : 'max',
    ...reduceGeometry(b.where, b.inShape(0), b.constInts(1)),
  },
});

const BATCH_MATMUL: BuiltinHandler = (b) => {
  const adjoint = b.op.options.adj_x === true || b.op.options.adj_y === true;
  const g = batchMatMulGeometry(b.where, b.inShape(0), b.inShape(1), adjoint);
  return {
    kind: 'batch_matmul',
    inputs: [b.input(0), b.input(1)],
    outputs: [b.y],
    attrs: {
      batch: g.batch,
      rows: g.rows,
      depth: g.depth,
      cols: g.cols,
      lhsBatchStride: g.lhs_batch_stride,
      rhsBatchStride: g.rhs_batch_stride,
    },
  };
};

/** TFLite builtin → its handler in float models. */
const FLOAT_BUILTINS: Record<number, BuiltinHandler> = {
  [B.ADD]: arithmetic,
  [B.BATCH_MATMUL]: BATCH_MATMUL,
  [B.GATHER]: GATHER,
  [B.REDUCE_MAX]: reduce,
  [B.SUM]: reduce,
  [B.AVERAGE_POOL_2D]: pool,
  [B.CONCATENATION]: CONCATENATION,
  [B.CONV_2D]: conv,
  [B.DEPTHWISE_CONV_2D]: conv,
  [B.TRANSPOSE_CONV]: TRANSPOSE_CONV,
  [B.FULLY_CONNECTED]: FULLY_CONNECTED,
  [B.LEAKY_RELU]: (b) => ({
    kind: 'leaky_relu',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: { alpha: b.op.options.alpha as number },
  }),
  [B.LOGISTIC]: unary('sigmoid'),
  [B.HARD_SWISH]: unary('hard_swish'),
  [B.PRELU]: (b) => ({ kind: 'prelu', inputs: [b.input(0), b.input(1)], outputs: [b.y], attrs: {} }),
  [B.MAXIMUM]: (b) => ({ kind: 'maximum', inputs: [b.input(0), b.input(1)], outputs: [b.y], attrs: {} }),
  [B.MINIMUM]: (b) => ({ kind: 'minimum', inputs: [b.input(0), b.input(1)], outputs: [b.y], attrs: {} }),
  [B.ELU]: elementwise(() => applied('elu', 1)),
  [B.EXP]: elementwise(() => applied('exp')),
  [B.GELU]: elementwise((b) => applied('gelu', b.op.options.approximate ? 1 : 0)),
  [B.MAX_POOL_2D]: pool,
  [B.MEAN]: MEAN,
  [B.MIRROR_PAD]: MIRROR_PAD,
  [B.RESIZE_BILINEAR]: (b) => ({
    kind: 'resize_bilinear',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: {
      alignCorners: b.op.options.align_corners === true,
      halfPixelCenters: b.op.options.half_pixel_centers === true,
    },
  }),
  [B.RESIZE_NEAREST_NEIGHBOR]: (b) => ({
    kind: 'resize_nearest',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: {
      alignCorners: b.op.options.align_corners === true,
      halfPixelCenters: b.op.options.half_pixel_centers === true,
    },
  }),
  [B.MUL]: arithmetic,
  [B.PAD]: PAD,
  [B.RELU]: unary('relu'),
  [B.RELU6]: (b) => ({ kind: 'clip', inputs: [b.input(0)], outputs: [b.y], attrs: { min: 0, max: 6 } }),
  [B.RESHAPE]: (b) => ({ kind: 'reshape', inputs: [b.input(0)], outputs: [b.y], attrs: { shape: b.outShape.slice() } }),
  [B.SOFTMAX]: (b) => ({
    kind: 'softmax',
    inputs: [b.input(0)],
    outputs: [b.y],
    attrs: { axis: -1, beta: b.op.options.beta as number },
  }),
  [B.LOG_SOFTMAX]: (b) => ({ kind: 'log_softmax', inputs: [b.input(0)], outputs: [b.y], attrs: { axis: -1 } }),
  [B.SUB]: arithmetic,
  [B.TANH]: unary('tanh'),
  [B.UNIDIRECTIONAL_SEQUENCE_LSTM]: UNIDIRECTIONAL_SEQUENCE_LSTM,
};
export const SUPPORTED_FLOAT_OPS = Object.keys(FLOAT_BUILTINS)
  .map((code) => builtinOperatorName(Number(code)))
  .sort();

export function tfliteToGraph(m: TfliteModel, name = m.subgraphName || 'tflite'): Graph {
  const g = newGraph(name, 'NHWC');
  g.meta = { producer: `TFLite${m.description ? ` (${m.description})` : ''}`, format: 'tflite', sourceLayout: 'NHWC' };
  // TFLite does not require unique tensor names; the IR does.
  const names = new Map<number, string>();
  const used = new Set<string>();
  const nameOf = (i: number): string => {
    let n = names.get(i);
    if (n === undefined) {
      const t = m.tensors[i];
      if (!t) throw new ModelError(`tensor index ${i} is out of range (${m.tensors.length} tensors)`);
      const base = t.name || `tensor_${i}`;
      n = used.has(base) ? `${base}#${i}` : base;
      used.add(n);
      names.set(i, n);
      addTensor(i, n);
    }
    return n;
  };
  const addTensor = (i: number, n: string) => {
    const t = m.tensors[i];
    if (!t.data && t.type !== TensorType.FLOAT32)
      throw new ModelError(
        `activation '${t.name}' is not float32; a fully quantized .tflite imports as a QModel (tfliteToQModel)`,
      );
    if (t.data) checkShape(t.shape, `tensor '${t.name}'`, true);
    else checkActivation(t.shape, `tensor '${t.name}'`);
    g.tensors.set(n, {
      name: n,
      dtype: 'float32',
      shape: t.shape.slice(),
      ...(t.data ? { data: floatConstant(t) } : {}),
    });
  };

  for (const op of m.operators) {
    const where = `operator ${op.index} (${op.opName})`;
    const tensorAt = (k: number): TfliteTensor => {
      const i = op.inputs[k];
      if (i === undefined || i < 0 || !m.tensors[i]) throw new ModelError(`${where}: input ${k} is missing`);
      return m.tensors[i];
    };
    const handler = Object.hasOwn(FLOAT_BUILTINS, op.builtinCode) ? FLOAT_BUILTINS[op.builtinCode] : undefined;
    if (!handler)
      throw new ModelError(
        `${where} is not supported in float models; Morsel imports these TFLite ops: ${SUPPORTED_FLOAT_OPS.join(', ')}`,
      );
    const y = nameOf(op.outputs[0]);
    const b: Builtin = {
      op,
      where,
      input: (k) => (tensorAt(k), nameOf(op.inputs[k])),
      inputsWithBias: () =>
        op.inputs[2] !== undefined && op.inputs[2] >= 0
          ? [b.input(0), b.input(1), b.input(2)]
          : [b.input(0), b.input(1)],
      inShape: (k) => tensorAt(k).shape,
      isConstant: (k) => tensorAt(k).data !== undefined,
      outShape: m.tensors[op.outputs[0]].shape,
      y,
      g,
      constInts: (k) => {
        const t = tensorAt(k);
        if (!t.data || t.type !== TensorType.INT32)
          throw new ModelError(`${where}: input ${k} ('${t.name}') must be a constant int32 tensor`);
        return Array.from(int32Of(t.data));
      },
    };
    g.nodes.push({ name: y, op: handler(b) });
  }
  g.inputs = m.inputs.map(nameOf);
  g.outputs = m.outputs.map(nameOf);
  return g;
}

/** A constant as float32: float data as is, int8 weights dequantized per tensor or per channel. */
function floatConstant(t: TfliteTensor): Float32Array {
  const bytes = t.data!.buffer.slice(t.data!.byteOffset, t.data!.byteOffset + t.data!.length);
  if (t.type === TensorType.FLOAT32) return new Float32Array(bytes);
  const q = t.quantization;
  if (t.type !== TensorType.INT8 || !q) {
    throw new ModelError(
      `constant '${t.name}' is neither float32 nor quantized int8; a fully quantized .tflite imports as a QModel (tfliteToQModel)`,
    );
  }
  const raw = new Int8Array(bytes);
  const channels = q.scale.length;
  const inner = elementsPerChannel(t.shape, q.quantizedDimension);
  return Float32Array.from(raw, (v, i) => {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    return q.scale[c] * (v - (q.zeroPoint[c] ?? 0));
  });
}
