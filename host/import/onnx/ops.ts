// ONNX ops on activations → IR ops: one named handler per op (tinygrad's nn/onnx.py shape), dispatched by
// ONNX_HANDLERS. A handler reads its attributes through its OnnxNode, checks them, and emits IR ops.

import { applied, type Expr } from '../../ir/elementwise';
import { broadcastShapes, numel, type Op, type Quant } from '../../ir/graph';
import { dilatedExtent, windowOutSize } from '../window';
import { checkPerm } from './fold';
import { type Act, canonicalMap, NCHW_TO_NHWC, normalizeAxis, sameArray, transposeIndex, windowPads } from './layout';
import type { OnnxNode } from './node';
import { FLOAT, INT8, INT64, UINT8 } from './proto';
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

function Conv(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  if (a.shape.length !== 4) throw n.error(`only 2-D convolution is supported (input [${a.shape}])`);
  const w = n.needConst(n.ins[1], 'the weight');
  if (w.dims.length !== 4) throw n.error('weights must be a 4-D constant');
  const [O, Ig, kh, kw] = w.dims;
  const C = a.shape[1];
  const group = n.int('group', 1);
  if (!(group >= 1) || Ig * group !== C || O % group !== 0)
    throw n.error(`weights [${w.dims}] with group ${group} do not fit ${C} input channels`);
  const strides = n.pair('strides', [1, 1]);
  const dil = n.pair('dilations', [1, 1]);
  const extent = [dilatedExtent(kh, dil[0]), dilatedExtent(kw, dil[1])];
  const pads = windowPads(
    n.str('auto_pad', 'NOTSET'),
    n.ints('pads', []),
    [a.shape[2], a.shape[3]],
    strides,
    extent,
    n.where,
  );
  const oh = windowOutSize(a.shape[2], pads[0] + pads[2], extent[0], strides[0], n.where);
  const ow = windowOutSize(a.shape[3], pads[1] + pads[3], extent[1], strides[1], n.where);
  const depthwise = group === C && Ig === 1 && group > 1;
  // A channel-permuted view (e.g. a channel shuffle) is absorbed into the weights' input channels.
  const inputChannel = n.channelPermutation(a);
  let weights: string;
  if (depthwise) {
    if (inputChannel.some((p, c) => p !== c)) n.canonical(a, 'a depthwise convolution');
    const wt = new Float32Array(w.data.length);
    for (let o = 0; o < O; o++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) wt[(y * kw + x) * O + o] = w.data[(o * kh + y) * kw + x];
    weights = n.cx.addConst(`${n.name}/weights`, [1, kh, kw, O], wt, n.weightQuant(w, 0, 3));
  } else {
    // Grouped (non-depthwise) convolution runs as one dense convolution whose weights are zero outside each
    // group's block: every output channel reads only its group's input channels, as ONNX defines.
    const wt = new Float32Array(O * kh * kw * C);
    const perGroup = O / group;
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ig; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const c = Math.floor(o / perGroup) * Ig + i;
            wt[((o * kh + y) * kw + x) * C + inputChannel[c]] = w.data[((o * Ig + i) * kh + y) * kw + x];
          }
    weights = n.cx.addConst(`${n.name}/weights`, [O, kh, kw, C], wt, n.weightQuant(w, 0, 0));
  }
  const opIns = [a.phys, weights];
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
  n.emit({ kind: depthwise ? 'depthwise_conv2d' : 'conv2d', inputs: opIns, attrs } as Omit<Op, 'outputs'>, [
    1,
    O,
    oh,
    ow,
  ]);
}

function Gemm(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const b = n.constOf(n.ins[1]);
  if (!b || b.dims.length !== 2) throw n.error('only an activation times a constant 2-D weight is supported');
  if (n.opType === 'Gemm' && n.int('transA', 0)) throw n.error('transA is not supported');
  const transB = n.opType === 'Gemm' ? n.int('transB', 0) : 0;
  const alpha = n.opType === 'Gemm' ? n.float('alpha', 1) : 1;
  const [K, N] = transB ? [b.dims[1], b.dims[0]] : b.dims;
  if (a.shape[a.shape.length - 1] !== K) throw n.error(`input [${a.shape}] does not match weights [${b.dims}]`);
  let x: string;
  let column = (k: number) => k;
  if (a.shape.length === 2 && a.shape[0] === 1) {
    // [1, K], possibly a view (a flattened NHWC map): permute the weight columns instead of the data.
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
    x = n.canonical(a, 'a MatMul');
    if (a.shape.length === 4) throw n.error('MatMul on a 4-D activation is not supported');
  }
  const w = new Float32Array(N * K);
  for (let o = 0; o < N; o++)
    for (let k = 0; k < K; k++) w[o * K + k] = alpha * b.data[transB ? o * K + column(k) : column(k) * N + o];
  const q = n.weightQuant(b, transB ? 0 : 1, 0);
  const scaled: Quant | undefined = q && alpha !== 1 ? { ...q, scale: q.scale.map((s) => Math.fround(s * alpha)) } : q;
  const opIns = [x, n.cx.addConst(`${n.name}/weights`, [N, K], w, scaled)];
  const c = n.constOf(n.ins[2]);
  if (c) {
    if (numel(c.dims) !== 1 && numel(c.dims) !== N) throw n.error(`bias [${c.dims}] must have 1 or ${N} values`);
    const beta = n.float('beta', 1);
    opIns.push(
      n.cx.addConst(
        `${n.name}/bias`,
        [N],
        Array.from({ length: N }, (_, i) => beta * c.data[c.data.length === 1 ? 0 : i]),
      ),
    );
  } else if (n.ins[2]) throw n.error('a Gemm bias must be constant');
  n.emit({ kind: 'dense', inputs: opIns, attrs: {} } as Omit<Op, 'outputs'>, [...a.shape.slice(0, -1), N]);
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
  if (a.map && b.map && sameArray(a.shape, b.shape) && sameArray(a.map, b.map)) {
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
    { kind, inputs: [n.canonical(a, n.opType), n.canonical(b, n.opType)], attrs: {} } as Omit<Op, 'outputs'>,
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
  if (a.shape.length === 4 && (!a.map || sameArray(a.map, canonicalMap(a.shape)))) {
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

function pool(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  if (a.shape.length !== 4) throw n.error('only 2-D pooling is supported');
  const k = n.pair('kernel_shape', [0, 0]);
  const st = n.pair('strides', [1, 1]);
  if (n.int('ceil_mode', 0)) throw n.error('ceil_mode=1 is not supported');
  if (n.ints('dilations', [1, 1]).some((d) => d !== 1)) throw n.error('pooling dilations are not supported');
  let x = n.canonical(a);
  let pads = windowPads(n.str('auto_pad', 'NOTSET'), n.ints('pads', []), [a.shape[2], a.shape[3]], st, k, n.where);
  let [H, W] = [a.shape[2], a.shape[3]];
  if (n.opType === 'AveragePool' && n.int('count_include_pad', 0) && pads.some((p) => p > 0)) {
    // Padded taps count as zeros: pad explicitly, then pool without padding.
    [H, W] = [H + pads[0] + pads[2], W + pads[1] + pads[3]];
    x = n.step(
      'padded',
      { kind: 'pad', inputs: [x], attrs: { pads: [0, pads[0], pads[1], 0, 0, pads[2], pads[3], 0], value: 0 } },
      [1, H, W, a.shape[1]],
    );
    pads = [0, 0, 0, 0];
  }
  const oh = windowOutSize(H, pads[0] + pads[2], k[0], st[0], n.where);
  const ow = windowOutSize(W, pads[1] + pads[3], k[1], st[1], n.where);
  n.emit(
    {
      kind: n.opType === 'MaxPool' ? 'max_pool' : 'avg_pool',
      inputs: [x],
      attrs: { kernel: k, strides: st, pads },
    } as Omit<Op, 'outputs'>,
    [1, a.shape[1], oh, ow],
  );
}

function mean(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const rank = a.shape.length;
  const axes =
    n.opType === 'GlobalAveragePool'
      ? [2, 3]
      : n
          .axesOf(
            rank,
            a.shape.map((_, i) => i),
          )
          .sort();
  const keep = n.opType === 'GlobalAveragePool' || n.int('keepdims', 1) === 1;
  if (rank !== 4 || axes.join() !== '2,3')
    throw n.error(
      `ReduceMean is supported over the spatial axes [2,3] of a 4-D tensor (got axes [${axes}] of [${a.shape}])`,
    );
  const C = a.shape[1];
  n.emit(
    { kind: 'mean', inputs: [n.canonical(a)], attrs: { axes: [1, 2], keepDims: keep } } as Omit<Op, 'outputs'>,
    keep ? [1, C, 1, 1] : [1, C],
  );
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
    p.a ? n.canonical(p.a, 'Concat') : n.constLike(p.k!, { phys: '', shape: p.k!.dims }, `part${i}`),
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

function Pad(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const mode = n.str('mode', 'constant');
  if (mode !== 'constant') throw n.error(`Pad mode '${mode}' is not supported (constant)`);
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
  const order = rank === 4 ? NCHW_TO_NHWC : a.shape.map((_, i) => i);
  const shape = n.sized(a.shape.map((d, i) => d + pads[i] + pads[rank + i]));
  n.emit(
    {
      kind: 'pad',
      inputs: [n.canonical(a)],
      attrs: { pads: [...order.map((i) => pads[i]), ...order.map((i) => pads[rank + i])], value },
    } as Omit<Op, 'outputs'>,
    shape,
  );
}

function Softmax(n: OnnxNode) {
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
  // The device normalises aligned runs of K stored values. Softmax does not care about order within a row, so each
  // logical row must fill one such run (its output keeps the input's map).
  const runOfRow = new Map<number, number>();
  const contiguous = map.every((s, i) => {
    const row = Math.floor(i / (K * stride)) * stride + (i % stride);
    const run = Math.floor(s / K);
    if (!runOfRow.has(row)) runOfRow.set(row, run);
    return runOfRow.get(row) === run;
  });
  if (!contiguous)
    throw n.error(`softmax over axis ${axis} of [${a.shape}] is not over contiguous stored values; not supported`);
  const stored = n.cx.storedOf(a);
  if (stored[stored.length - 1] === K) {
    n.emit(
      { kind: 'softmax', inputs: [a.phys], attrs: { axis: -1, beta: 1 } } as Omit<Op, 'outputs'>,
      a.shape,
      a.map,
      stored,
    );
    return;
  }
  const rowShape = [numel(stored) / K, K];
  const rowsName = n.step('to_rows', { kind: 'reshape', inputs: [a.phys], attrs: { shape: rowShape } }, rowShape);
  const result = n.step('softmax', { kind: 'softmax', inputs: [rowsName], attrs: { axis: -1, beta: 1 } }, rowShape);
  n.emit(
    { kind: 'reshape', inputs: [result], attrs: { shape: stored } } as Omit<Op, 'outputs'>,
    a.shape,
    a.map,
    stored,
  );
}

function QuantizeLinear(n: OnnxNode) {
  const a = n.needAct(n.ins[0]);
  const scale = n.needConst(n.ins[1], 'the scale');
  const zp = n.constOf(n.ins[2]);
  if (numel(scale.dims) !== 1) throw n.error('activations must be quantized per tensor');
  const type = zp?.type ?? UINT8;
  if (type !== INT8 && type !== UINT8) throw n.error('only int8/uint8 quantization is supported');
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
  ReduceMean: mean,
  Flatten: reshape,
  Reshape: reshape,
  Transpose,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Concat,
  Softmax,
  Pad,
  QuantizeLinear,
  DequantizeLinear,
  Constant,
  Identity,
  Dropout: Identity,
};
