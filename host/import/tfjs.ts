// TensorFlow.js layers models (model.json + weight shards) → float Graph, NHWC.
// Sequential models and functional models (class Model/Functional, layers wired by inbound_nodes); weights are
// converted to the IR's layouts (conv [out,kh,kw,in], depthwise [1,kh,kw,out], dense [out,in]).
// One named handler per layer class (LAYERS). Nothing in model.json is trusted: weight shards are read only from the
// model's folder, every size is a positive integer within the importer's limits, and every weight's shape must be
// the one its layer needs.

import * as fs from 'fs';
import * as path from 'path';
import {
  broadcastShapes,
  type Clamp,
  type Graph,
  ModelError,
  newGraph,
  numel,
  type Op,
  type Padding,
  type Tensor,
} from '../ir/graph';
import { applied, type Expr } from '../ir/elementwise';
import { windowAxis } from '../ir/shape';
import { checkActivation, checkShape, ElementBudget, positiveInt } from './limits';
import { type Cell, GATES, stackRows, unrollRecurrent } from './recurrent';
import { dilatedExtent, samePadding, windowOutSize } from './window';

interface LayerJson {
  class_name: string;
  config: Record<string, any>;
  name?: string;
  inbound_nodes?: unknown[];
}
/** A value flowing between layers: IR tensor name and its NHWC shape (batch 1). */
interface Value {
  name: string;
  shape: number[];
}
interface Weight {
  shape: number[];
  data: Float32Array;
}

/** How deep model.json's nested arrays (inbound nodes, output specs) may go: real models use 4. */
const MAX_NESTING = 32;

/** Reads a weight shard named in model.json: a relative path inside the model's folder, nothing else. */
function readShard(file: string, p: unknown): Buffer {
  const dir = path.resolve(path.dirname(file));
  if (typeof p !== 'string' || !p || path.isAbsolute(p) || p.includes('\0'))
    throw new ModelError(`${file}: weight path ${JSON.stringify(p)} must be a file name relative to the model`);
  const f = path.resolve(dir, p);
  if (path.relative(dir, f).startsWith('..') || path.dirname(path.relative(dir, f)).startsWith('..'))
    throw new ModelError(`${file}: weight path ${p} leaves the model's folder`);
  let real: string;
  try {
    real = fs.realpathSync(f);
  } catch {
    throw new ModelError(`${file}: weight shard ${p} not found`);
  }
  if (path.relative(fs.realpathSync(dir), real).startsWith('..'))
    throw new ModelError(`${file}: weight path ${p} leaves the model's folder (through a link)`);
  if (!fs.statSync(real).isFile()) throw new ModelError(`${file}: weight shard ${p} is not a file`);
  return fs.readFileSync(real);
}

function readWeights(file: string, manifest: unknown[]): Map<string, Weight> {
  const out = new Map<string, Weight>();
  const budget = new ElementBudget();
  for (const group of manifest as { paths?: unknown; weights?: unknown }[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights))
      throw new ModelError(`${file}: a weightsManifest entry needs paths and weights lists`);
    const all = Buffer.concat(group.paths.map((p) => readShard(file, p)));
    let offset = 0;
    for (const w of group.weights) {
      if (w?.dtype !== 'float32' || w.quantization)
        throw new ModelError(`${file}: weight ${w?.name} has dtype ${w?.dtype}; only float32 weights are supported`);
      const shape = checkShape(Array.isArray(w.shape) ? w.shape : [w.shape], `${file}: weight ${w.name}`);
      const n = numel(shape);
      budget.take(n, `${file}: weight ${w.name}`);
      if (offset + 4 * n > all.length) throw new ModelError(`${file}: weight shards are truncated at ${w.name}`);
      if (out.has(w.name)) throw new ModelError(`${file}: weight ${w.name} is listed twice`);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = all.readFloatLE(offset + 4 * i);
      for (let i = 0; i < n; i++)
        if (!Number.isFinite(data[i])) throw new ModelError(`${file}: weight ${w.name} contains NaN or Inf`);
      out.set(w.name, { shape, data });
      offset += 4 * n;
    }
  }
  return out;
}

/** TF's 'valid'/'same' window geometry along H and W. */
function windowGeometry(
  l: Layer,
  k: [number, number],
  s: [number, number],
  d: [number, number],
  padding: unknown,
): { pads: Padding; outH: number; outW: number } {
  const [inH, inW] = [l.cur.shape[1], l.cur.shape[2]];
  const ek = [dilatedExtent(k[0], d[0]), dilatedExtent(k[1], d[1])];
  if (padding === 'valid')
    return {
      pads: [0, 0, 0, 0],
      outH: windowOutSize(inH, 0, ek[0], s[0], l.where),
      outW: windowOutSize(inW, 0, ek[1], s[1], l.where),
    };
  if (padding !== 'same') throw l.error(`padding '${padding}' is not supported (valid, same)`);
  const [h, w] = [samePadding(inH, s[0], ek[0]), samePadding(inW, s[1], ek[1])];
  return {
    pads: [h.before, w.before, h.total - h.before, w.total - w.before],
    outH: Math.ceil(inH / s[0]),
    outW: Math.ceil(inW / s[1]),
  };
}

function transposeKernel(k: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          out[((o * kh + y) * kw + x) * ci + i] = k[((y * kw + x) * ci + i) * co + o];
        }
  return out;
}

/** Names of the layers a functional layer reads, from Keras 2 (`[[name, node, tensor, kwargs]]`) or Keras 3 (`keras_history`) JSON. */
function inboundLayers(layer: LayerJson, where: string): string[] {
  const calls = layer.inbound_nodes ?? [];
  if (!Array.isArray(calls)) throw new ModelError(`${where}: inbound_nodes must be a list`);
  if (calls.length > 1)
    throw new ModelError(`${where}: shared layers (called ${calls.length} times) are not supported`);
  if (!calls.length) return [];
  const names: string[] = [];
  const visit = (v: any, depth: number) => {
    if (depth > MAX_NESTING) throw new ModelError(`${where}: inbound_nodes are nested deeper than ${MAX_NESTING}`);
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        if (v[2] !== 0)
          throw new ModelError(
            `${where}: reads output ${v[2]} of layer ${v[0]}; only single-output layers are supported`,
          );
        names.push(v[0]);
      } else for (const x of v) visit(x, depth + 1);
    } else if (v && typeof v === 'object') {
      if (Array.isArray(v.config?.keras_history)) visit(v.config.keras_history, depth + 1);
      else if (v.args) visit(v.args, depth + 1);
    }
  };
  visit(calls[0], 0);
  return names;
}

/** The layer names in an input_layers/output_layers spec (`[name, 0, 0]` or a list of them). */
function layerNames(spec: unknown, depth = 0): string[] {
  if (depth > MAX_NESTING) throw new ModelError(`output_layers are nested deeper than ${MAX_NESTING}`);
  if (!Array.isArray(spec)) return [];
  return typeof spec[0] === 'string' ? [spec[0]] : spec.flatMap((s) => layerNames(s, depth + 1));
}

/** One import: the graph being built and the model's weights. */
class TfjsImport {
  readonly used = new Set<string>();
  constructor(
    readonly file: string,
    readonly g: Graph,
    private readonly weights: Map<string, Weight>,
  ) {}

  constant(name: string, shape: number[], data: Float32Array): string {
    this.g.tensors.set(name, { name, dtype: 'float32', shape, data });
    return name;
  }
  weightShape(layer: string, w: string): number[] {
    return this.weights.get(`${layer}/${w}`)?.shape ?? [];
  }
  /** Layer `layer`'s weight `w`, which must have exactly `shape` and belong to no other layer. */
  weight(layer: string, w: string, shape: number[]): Float32Array {
    const key = `${layer}/${w}`;
    const d = this.weights.get(key);
    if (!d) throw new ModelError(`${this.file}: weight ${key} is missing from the weight manifest`);
    // A 1-D layer's [k, ci, co] kernel is its 2-D counterpart's [1, k, ci, co], value for value.
    const stored = d.shape.length === shape.length - 1 && shape[0] === 1 ? [1, ...d.shape] : d.shape;
    if (stored.length !== shape.length || stored.some((v, i) => v !== shape[i]))
      throw new ModelError(`${this.file}: weight ${key} has shape [${d.shape}]; the layer needs [${shape}]`);
    if (this.used.has(key)) throw new ModelError(`${this.file}: weight ${key} is used by two layers`);
    this.used.add(key);
    return d.data;
  }
  addInput(name: string, batchShape: unknown): Value {
    if (!Array.isArray(batchShape)) throw new ModelError(`${this.file}: input layer ${name} has no batch_input_shape`);
    const shape = checkActivation([1, ...batchShape.slice(1)], `${this.file}: input ${name}`);
    this.g.tensors.set(name, { name, dtype: 'float32', shape });
    this.g.inputs.push(name);
    return { name, shape };
  }
}

/** One layer being imported: its config, inputs and the helpers every handler shares. */
class Layer {
  readonly c: Record<string, any>;
  readonly name: string;
  readonly where: string;
  cur: Value;

  constructor(
    readonly cx: TfjsImport,
    readonly json: LayerJson,
    readonly ins: Value[],
    readonly index: number,
  ) {
    this.c = json.config && typeof json.config === 'object' ? json.config : {};
    this.name = String(this.c.name ?? json.name ?? `layer${index}`);
    this.where = `layer ${index} '${this.name}' (${json.class_name})`;
    this.cur = ins[0];
  }
  error(message: string): ModelError {
    return new ModelError(`${this.where}: ${message}`);
  }
  /** A positive integer option (units, filters, depth_multiplier...). */
  int(key: string, d?: number): number {
    return positiveInt(this.c[key] ?? d, `${this.where}: ${key}`);
  }
  /** A 2-D option given as one number or a pair (kernel_size, strides, pool_size...). */
  pair(key: string, d: number): [number, number] {
    const v = this.c[key] ?? d;
    const [a, b] = Array.isArray(v) ? v : [v, v];
    if (Array.isArray(v) && v.length !== 2) throw this.error(`${key} [${v}] must have 2 values`);
    return [positiveInt(a, `${this.where}: ${key}`), positiveInt(b, `${this.where}: ${key}`)];
  }
  weight(w: string, shape: number[]): Float32Array {
    return this.cx.weight(this.name, w, shape);
  }
  emit(opName: string, op: Omit<Op, 'outputs'>, outShape: number[]): Value {
    const out = `${opName}:0`;
    checkActivation(outShape, this.where);
    this.cx.g.tensors.set(out, { name: out, dtype: 'float32', shape: outShape } as Tensor);
    this.cx.g.nodes.push({ name: opName, op: { ...op, outputs: [out] } as Op });
    this.cur = { name: out, shape: outShape };
    return this.cur;
  }
  activation(act: unknown): Value {
    if (!act || act === 'linear') return this.cur;
    const x = [this.cur.name];
    if (act === 'relu' || act === 'sigmoid' || act === 'tanh')
      return this.emit(
        `${this.name}/${act}`,
        { kind: act, inputs: x, attrs: {} } as Omit<Op, 'outputs'>,
        this.cur.shape,
      );
    if (act === 'relu6')
      return this.emit(
        `${this.name}/relu6`,
        { kind: 'clip', inputs: x, attrs: { min: 0, max: 6 } as Clamp },
        this.cur.shape,
      );
    if (act === 'softmax')
      return this.emit(
        `${this.name}/softmax`,
        { kind: 'softmax', inputs: x, attrs: { axis: -1, beta: 1 } },
        this.cur.shape,
      );
    const expr = typeof act === 'string' ? ACTIVATION_EXPR[act] : undefined;
    if (expr)
      return this.emit(`${this.name}/${act}`, { kind: 'elementwise', inputs: x, attrs: { expr } }, this.cur.shape);
    throw this.error(
      `activation '${act}' is not supported (linear, relu, relu6, sigmoid, tanh, softmax, ${Object.keys(ACTIVATION_EXPR).join(', ')})`,
    );
  }
  need4d(): void {
    if (this.cur.shape.length !== 4) throw this.error(`expects a 4-D input, got [${this.cur.shape}]`);
    if ((this.c.data_format ?? 'channels_last') !== 'channels_last')
      throw this.error('only channels_last is supported');
  }
  conv(
    opName: string,
    kind: 'conv2d' | 'depthwise_conv2d',
    kernel: [number, number],
    strides: [number, number],
    dilations: [number, number],
    padding: unknown,
    w: string,
    co: number,
    bias?: string,
    multiplier = 1,
  ): Value {
    const { pads, outH, outW } = windowGeometry(this, kernel, strides, dilations, padding);
    const attrs = {
      strides,
      dilations,
      pads,
      group: kind === 'depthwise_conv2d' ? this.cur.shape[3] : 1,
      ...(kind === 'depthwise_conv2d' ? { multiplier } : {}),
    };
    return this.emit(opName, { kind, inputs: bias ? [this.cur.name, w, bias] : [this.cur.name, w], attrs }, [
      1,
      outH,
      outW,
      co,
    ]);
  }
  bias(co: number, key = 'bias'): string | undefined {
    return this.c.use_bias === false
      ? undefined
      : this.cx.constant(`${this.name}/${key}`, [co], this.weight(key, [co]));
  }
  binary(kind: 'add' | 'sub' | 'mul'): Value {
    const ins = this.ins;
    if (ins.length < 2 || (kind === 'sub' && ins.length !== 2))
      throw this.error(`needs ${kind === 'sub' ? 'exactly 2' : 'at least 2'} inputs, got ${ins.length}`);
    let acc = ins[0];
    for (let k = 1; k < ins.length; k++) {
      let shape: number[];
      try {
        shape = broadcastShapes(acc.shape, ins[k].shape);
      } catch (e) {
        throw this.error((e as Error).message);
      }
      acc = this.emit(
        k === ins.length - 1 ? this.name : `${this.name}/${k}`,
        { kind, inputs: [acc.name, ins[k].name], attrs: {} },
        shape,
      );
    }
    return acc;
  }
}

type LayerHandler = (l: Layer) => Value;

const passThrough: LayerHandler = (l) => l.cur;

const conv2d: LayerHandler = (l) => {
  l.need4d();
  const k = l.pair('kernel_size', 1),
    s = l.pair('strides', 1),
    d = l.pair('dilation_rate', 1);
  const ci = l.cur.shape[3];
  const dw = l.json.class_name === 'DepthwiseConv2D';
  const m = dw ? l.int('depth_multiplier', 1) : 1;
  const co = dw ? ci * m : l.int('filters');
  // Depthwise [kh,kw,ci,m] is already [1,kh,kw,ci*m] in memory (channel oc = ic*m + j).
  const w = dw
    ? l.cx.constant(`${l.name}/weights`, [1, k[0], k[1], co], l.weight('depthwise_kernel', [k[0], k[1], ci, m]))
    : l.cx.constant(
        `${l.name}/weights`,
        [co, k[0], k[1], ci],
        transposeKernel(l.weight('kernel', [k[0], k[1], ci, co]), [k[0], k[1], ci, co]),
      );
  l.conv(l.name, dw ? 'depthwise_conv2d' : 'conv2d', k, s, d, l.c.padding ?? 'valid', w, co, l.bias(co), m);
  return l.activation(l.c.activation);
};

/**
 * Keras Conv2DTranspose: kernel [kh, kw, filters, ci]; output size Keras's deconv_output_length (valid: in·s +
 * max(k − s, 0), same: in·s), cropped as TF's conv2d_transpose pads (a convolution's padding from the output back).
 */
const Conv2DTranspose: LayerHandler = (l) => {
  l.need4d();
  const k = l.pair('kernel_size', 1),
    s = l.pair('strides', 1);
  if (l.pair('dilation_rate', 1).some((d) => d !== 1)) throw l.error('dilation_rate is not supported');
  if (l.c.output_padding != null) throw l.error('output_padding is not supported');
  const padding = l.c.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw l.error(`padding '${padding}' is not supported (valid, same)`);
  const [, H, W, ci] = l.cur.shape;
  const co = l.int('filters');
  const kernel = l.weight('kernel', [k[0], k[1], co, ci]);
  const wt = new Float32Array(kernel.length);
  for (let y = 0; y < k[0]; y++)
    for (let x = 0; x < k[1]; x++)
      for (let o = 0; o < co; o++)
        for (let c = 0; c < ci; c++)
          wt[((o * k[0] + y) * k[1] + x) * ci + c] = kernel[((y * k[1] + x) * co + o) * ci + c];
  const w = l.cx.constant(`${l.name}/weights`, [co, k[0], k[1], ci], wt);
  const out = [H, W].map((n, d) => n * s[d] + (padding === 'same' ? 0 : Math.max(k[d] - s[d], 0)));
  const before = [0, 1].map((d) => windowAxis(padding, out[d], k[d], s[d]).before);
  const after = [0, 1].map((d) => ([H, W][d] - 1) * s[d] + k[d] - before[d] - out[d]);
  const bias = l.bias(co);
  const attrs = { strides: s, dilations: [1, 1], pads: [before[0], before[1], after[0], after[1]], group: 1 };
  const inputs = bias ? [l.cur.name, w, bias] : [l.cur.name, w];
  l.emit(l.name, { kind: 'conv_transpose', inputs, attrs } as Omit<Op, 'outputs'>, [1, out[0], out[1], co]);
  return l.activation(l.c.activation);
};

/** UpSampling2D: TF.js resizes by `size` with tf.image's defaults (no align_corners, no half-pixel centers). */
const UpSampling2D: LayerHandler = (l) => {
  l.need4d();
  const [sh, sw] = l.pair('size', 2);
  const interpolation = l.c.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear')
    throw l.error(`interpolation '${interpolation}' is not supported (nearest, bilinear)`);
  const [, H, W, C] = l.cur.shape;
  const op = {
    kind: interpolation === 'nearest' ? 'resize_nearest' : 'resize_bilinear',
    inputs: [l.cur.name],
    attrs: { alignCorners: false, halfPixelCenters: false },
  };
  return l.emit(l.name, op as Omit<Op, 'outputs'>, [1, H * sh, W * sw, C]);
};

/** Depthwise (no bias) then a 1×1 convolution with the layer's bias and activation. */
const SeparableConv2D: LayerHandler = (l) => {
  l.need4d();
  const k = l.pair('kernel_size', 1),
    s = l.pair('strides', 1),
    d = l.pair('dilation_rate', 1);
  const ci = l.cur.shape[3];
  const filters = l.int('filters');
  // tfjs-layers leaves depth_multiplier out of a SeparableConv2D's JSON; the kernel [kh,kw,ci,m] has it.
  const m =
    l.c.depth_multiplier != null ? l.int('depth_multiplier') : (l.cx.weightShape(l.name, 'depthwise_kernel')[3] ?? 1);
  const dwW = l.cx.constant(
    `${l.name}/depthwise_weights`,
    [1, k[0], k[1], ci * m],
    l.weight('depthwise_kernel', [k[0], k[1], ci, m]),
  );
  l.conv(`${l.name}/depthwise`, 'depthwise_conv2d', k, s, d, l.c.padding ?? 'valid', dwW, ci * m, undefined, m);
  const pwW = l.cx.constant(
    `${l.name}/pointwise_weights`,
    [filters, 1, 1, ci * m],
    transposeKernel(l.weight('pointwise_kernel', [1, 1, ci * m, filters]), [1, 1, ci * m, filters]),
  );
  l.conv(l.name, 'conv2d', [1, 1], [1, 1], [1, 1], 'valid', pwW, filters, l.bias(filters));
  return l.activation(l.c.activation);
};

const Dense: LayerHandler = (l) => {
  if (l.cur.shape.length !== 2)
    throw l.error(`Dense on a ${l.cur.shape.length}-D input is not supported; flatten first`);
  const n = l.cur.shape[1];
  const units = l.int('units');
  const kernel = l.weight('kernel', [n, units]);
  const w = new Float32Array(kernel.length);
  for (let i = 0; i < n; i++) for (let o = 0; o < units; o++) w[o * n + i] = kernel[i * units + o];
  const inputs = [l.cur.name, l.cx.constant(`${l.name}/weights`, [units, n], w)];
  const bias = l.bias(units);
  if (bias) inputs.push(bias);
  l.emit(l.name, { kind: 'dense', inputs, attrs: {} } as Omit<Op, 'outputs'>, [1, units]);
  return l.activation(l.c.activation);
};

const BatchNormalization: LayerHandler = (l) => {
  const rank = l.cur.shape.length;
  const axis = Array.isArray(l.c.axis) ? l.c.axis[0] : (l.c.axis ?? -1);
  if (axis !== -1 && axis !== rank - 1)
    throw l.error(`batch normalization over axis ${axis} is not supported (channels last)`);
  const ch = l.cur.shape[rank - 1];
  const gamma = l.c.scale === false ? new Float32Array(ch).fill(1) : l.weight('gamma', [ch]);
  const beta = l.c.center === false ? new Float32Array(ch) : l.weight('beta', [ch]);
  const inputs = [
    l.cur.name,
    l.cx.constant(`${l.name}/gamma`, [ch], gamma),
    l.cx.constant(`${l.name}/beta`, [ch], beta),
    l.cx.constant(`${l.name}/mean`, [ch], l.weight('moving_mean', [ch])),
    l.cx.constant(`${l.name}/variance`, [ch], l.weight('moving_variance', [ch])),
  ];
  const epsilon = l.c.epsilon ?? 1e-3;
  if (typeof epsilon !== 'number' || !(epsilon >= 0)) throw l.error(`epsilon ${epsilon} must be a non-negative number`);
  return l.emit(
    l.name,
    { kind: 'batchnorm', inputs, attrs: { epsilon, axis: rank - 1 } } as Omit<Op, 'outputs'>,
    l.cur.shape,
  );
};

/** Keras activation strings that are element-wise functions (tf.keras.activations), as IR expressions. */
const ACTIVATION_EXPR: Record<string, Expr> = {
  elu: applied('elu', 1),
  selu: applied('selu', 1.6732632423543772, 1.0507009873554805),
  softplus: applied('softplus'),
  softsign: applied('softsign'),
  swish: { f: 'mul', args: ['x', applied('sigmoid')] },
  silu: { f: 'mul', args: ['x', applied('sigmoid')] },
  gelu: applied('gelu', 0),
  gelu_new: applied('gelu', 1),
  hard_sigmoid: applied('hard_sigmoid', 0.2, 0.5),
  hardSigmoid: applied('hard_sigmoid', 0.2, 0.5),
  exponential: applied('exp'),
  mish: { f: 'mul', args: ['x', { f: 'tanh', args: [applied('softplus')] }] },
};

const finite = (l: Layer, key: string, d: number): number => {
  const v = l.c[key] ?? d;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw l.error(`${key} ${JSON.stringify(v)} must be a number`);
  return v;
};

const ReLU: LayerHandler = (l) => {
  const x = [l.cur.name];
  if (l.c.threshold) throw l.error('a ReLU threshold is not supported');
  if (l.c.negative_slope) {
    if (l.c.max_value != null) throw l.error('ReLU with both negative_slope and max_value is not supported');
    return l.emit(
      l.name,
      { kind: 'leaky_relu', inputs: x, attrs: { alpha: finite(l, 'negative_slope', 0) } },
      l.cur.shape,
    );
  }
  if (l.c.max_value != null)
    return l.emit(l.name, { kind: 'clip', inputs: x, attrs: { min: 0, max: finite(l, 'max_value', 0) } }, l.cur.shape);
  return l.emit(l.name, { kind: 'relu', inputs: x, attrs: {} }, l.cur.shape);
};

const ELU: LayerHandler = (l) =>
  l.emit(
    l.name,
    { kind: 'elementwise', inputs: [l.cur.name], attrs: { expr: applied('elu', finite(l, 'alpha', 1)) } },
    l.cur.shape,
  );

const ThresholdedReLU: LayerHandler = (l) =>
  l.emit(
    l.name,
    { kind: 'elementwise', inputs: [l.cur.name], attrs: { expr: applied('thresholded_relu', finite(l, 'theta', 1)) } },
    l.cur.shape,
  );

/** Keras PReLU: alpha of the input's shape (batch excluded), 1 along shared_axes; broadcast to the input. */
const PReLU: LayerHandler = (l) => {
  const sharedAxes = l.c.shared_axes == null ? [] : ([] as number[]).concat(l.c.shared_axes);
  const shape = l.cur.shape.slice(1).map((d, i) => (sharedAxes.includes(i + 1) ? 1 : d));
  const alpha = l.cx.constant(`${l.name}/alpha`, shape, l.weight('alpha', shape));
  return l.emit(l.name, { kind: 'prelu', inputs: [l.cur.name, alpha], attrs: {} }, l.cur.shape);
};

const LeakyReLU: LayerHandler = (l) =>
  l.emit(l.name, { kind: 'leaky_relu', inputs: [l.cur.name], attrs: { alpha: finite(l, 'alpha', 0.3) } }, l.cur.shape);

const pooling2d: LayerHandler = (l) => {
  l.need4d();
  const k = l.pair('pool_size', 2);
  const s = l.c.strides == null ? k : l.pair('strides', 1);
  const { pads, outH, outW } = windowGeometry(l, k, s, [1, 1], l.c.padding ?? 'valid');
  // TF averages over the taps inside the input, as TFLite does (countIncludePad false).
  return l.emit(
    l.name,
    {
      kind: l.json.class_name === 'MaxPooling2D' ? 'max_pool' : 'avg_pool',
      inputs: [l.cur.name],
      attrs: { kernel: k, strides: s, pads },
    },
    [1, outH, outW, l.cur.shape[3]],
  );
};

const GlobalAveragePooling2D: LayerHandler = (l) => {
  l.need4d();
  const keep = !!l.c.keepdims;
  const C = l.cur.shape[3];
  return l.emit(
    l.name,
    { kind: 'mean', inputs: [l.cur.name], attrs: { axes: [1, 2], keepDims: keep } },
    keep ? [1, 1, 1, C] : [1, C],
  );
};

const ZeroPadding2D: LayerHandler = (l) => {
  l.need4d();
  const p = l.c.padding ?? 1;
  const [[t, b], [left, r]] = Array.isArray(p)
    ? Array.isArray(p[0])
      ? p
      : [
          [p[0], p[0]],
          [p[1], p[1]],
        ]
    : [
        [p, p],
        [p, p],
      ];
  for (const v of [t, b, left, r])
    if (!Number.isSafeInteger(v) || v < 0 || v > 1 << 16)
      throw l.error(`padding ${JSON.stringify(p)} must be non-negative integers`);
  return l.emit(l.name, { kind: 'pad', inputs: [l.cur.name], attrs: { pads: [0, t, left, 0, 0, b, r, 0], value: 0 } }, [
    1,
    l.cur.shape[1] + t + b,
    l.cur.shape[2] + left + r,
    l.cur.shape[3],
  ]);
};

const Flatten: LayerHandler = (l) => {
  const shape = [1, numel(l.cur.shape)];
  return l.emit(l.name, { kind: 'reshape', inputs: [l.cur.name], attrs: { shape } }, shape);
};

const Reshape: LayerHandler = (l) => {
  if (!Array.isArray(l.c.target_shape)) throw l.error('target_shape must be a list');
  const target = [1, ...(l.c.target_shape as number[])];
  const known = numel(target.filter((d) => d !== -1));
  const shape = target.map((d) => (d === -1 ? numel(l.cur.shape) / known : d));
  if (
    target.filter((d) => d === -1).length > 1 ||
    numel(shape) !== numel(l.cur.shape) ||
    shape.some((d) => !Number.isSafeInteger(d) || d < 1)
  )
    throw l.error(`cannot reshape [${l.cur.shape}] to [${target}]`);
  return l.emit(l.name, { kind: 'reshape', inputs: [l.cur.name], attrs: { shape } }, shape);
};

const Concatenate: LayerHandler = (l) => {
  const rank = l.cur.shape.length;
  const raw = l.c.axis ?? -1;
  const axis = raw < 0 ? raw + rank : raw;
  if (!Number.isInteger(axis) || axis < 1 || axis >= rank)
    throw l.error(`axis ${raw} is out of range for rank ${rank}`);
  for (const v of l.ins) {
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== l.cur.shape[i]))
      throw l.error(`input [${v.shape}] does not fit [${l.cur.shape}] along axis ${axis}`);
  }
  const shape = [...l.cur.shape];
  shape[axis] = l.ins.reduce((s, v) => s + v.shape[axis], 0);
  return l.emit(l.name, { kind: 'concat', inputs: l.ins.map((v) => v.name), attrs: { axis } }, shape);
};

const GlobalMaxPooling2D: LayerHandler = (l) => {
  l.need4d();
  const [, H, W, C] = l.cur.shape;
  l.emit(
    l.c.keepdims ? l.name : `${l.name}/max`,
    { kind: 'max_pool', inputs: [l.cur.name], attrs: { kernel: [H, W], strides: [1, 1], pads: [0, 0, 0, 0] } },
    [1, 1, 1, C],
  );
  return l.c.keepdims
    ? l.cur
    : l.emit(l.name, { kind: 'reshape', inputs: [l.cur.name], attrs: { shape: [1, C] } }, [1, C]);
};

/**
 * A 1-D layer on [1, steps, channels] as its 2-D counterpart on [1, 1, steps, channels], as TFLM runs Conv1D and 1-D
 * pooling: free reshapes around it, its window options given H = 1, a [k, ci, co] kernel read as [1, k, ci, co].
 */
const as1D =
  (layer2D: string): LayerHandler =>
  (l) => {
    if (l.cur.shape.length !== 3) throw l.error(`expects a 3-D [batch, steps, channels] input, got [${l.cur.shape}]`);
    if (l.c.padding === 'causal') throw l.error("padding 'causal' is not supported (valid, same)");
    const [, L, C] = l.cur.shape;
    const config = { ...l.c };
    for (const key of ['kernel_size', 'strides', 'dilation_rate', 'pool_size'])
      if (config[key] != null) config[key] = [1, Array.isArray(config[key]) ? config[key][0] : config[key]];
    const map = `${l.name}/as_2d`;
    const x = l.emit(map, { kind: 'reshape', inputs: [l.cur.name], attrs: { shape: [1, 1, L, C] } }, [1, 1, L, C]);
    const y = LAYERS[layer2D](new Layer(l.cx, { ...l.json, class_name: layer2D, config }, [x], l.index));
    if (y.shape.length !== 4) return y;
    const shape = [1, y.shape[2], y.shape[3]];
    return l.emit(`${l.name}/as_1d`, { kind: 'reshape', inputs: [y.name], attrs: { shape } }, shape);
  };

/** Keras' LSTM gate order (i, f, c, o) → ONNX's (i, o, f, c), as rows of ONNX's [gates·units, …] matrices. */
const KERAS_LSTM_GATES = [0, 3, 1, 2];

/**
 * Keras LSTM and GRU on [1, steps, features]: unrolled by ../recurrent.ts with the weights turned into ONNX's
 * [gates·units, in] rows; return_sequences, go_backwards (the sequence returned in the order processed, as Keras
 * does) and GRU reset_after. recurrent_activation sigmoid or hard_sigmoid, activation tanh; stateful, return_state
 * and time_major are refused.
 */
const recurrentLayer: LayerHandler = (l) => {
  const cell: Cell = l.json.class_name === 'LSTM' ? 'lstm' : 'gru';
  if (l.cur.shape.length !== 3) throw l.error(`expects a 3-D [batch, steps, features] input, got [${l.cur.shape}]`);
  for (const key of ['stateful', 'return_state', 'time_major']) if (l.c[key]) throw l.error(`${key} is not supported`);
  if ((l.c.activation ?? 'tanh') !== 'tanh') throw l.error(`activation '${l.c.activation}' is not supported (tanh)`);
  const recurrentActivation = l.c.recurrent_activation ?? 'hard_sigmoid';
  if (!['sigmoid', 'hard_sigmoid', 'hardSigmoid'].includes(recurrentActivation))
    throw l.error(`recurrent_activation '${recurrentActivation}' is not supported (sigmoid, hard_sigmoid)`);
  const [, steps, features] = l.cur.shape;
  const U = l.int('units');
  const G = GATES[cell];
  const order = cell === 'lstm' ? KERAS_LSTM_GATES : [0, 1, 2];
  /** Keras [in, gates·units] (gates in Keras order) → ONNX [gates·units, in]. */
  const rowsOf = (k: Float32Array, inputs: number) =>
    Float32Array.from({ length: G * U * inputs }, (_, i) => {
      const row = Math.floor(i / inputs);
      const column = order[Math.floor(row / U)] * U + (row % U);
      return k[(i % inputs) * G * U + column];
    });
  const gatesOf = (b: Float32Array) =>
    Float32Array.from({ length: G * U }, (_, i) => b[order[Math.floor(i / U)] * U + (i % U)]);
  const resetAfter = cell === 'gru' && l.c.reset_after === true;
  const bias = l.c.use_bias === false ? undefined : l.weight('bias', resetAfter ? [2, G * U] : [G * U]);
  const x = l.emit(`${l.name}/steps`, { kind: 'reshape', inputs: [l.cur.name], attrs: { shape: [steps, features] } }, [
    steps,
    features,
  ]);
  const reverse = l.c.go_backwards === true;
  const run = unrollRecurrent(l.cx.g, l.name, x.name, {
    cell,
    hidden: U,
    w: rowsOf(l.weight('kernel', [features, G * U]), features),
    r: rowsOf(l.weight('recurrent_kernel', [U, G * U]), U),
    wb: bias ? gatesOf(bias.subarray(0, G * U)) : new Float32Array(G * U),
    rb: resetAfter && bias ? gatesOf(bias.subarray(G * U)) : new Float32Array(G * U),
    linearBeforeReset: resetAfter,
    reverse,
    ...(recurrentActivation === 'sigmoid' ? {} : { gate: ACTIVATION_EXPR.hard_sigmoid }),
  });
  if (!l.c.return_sequences) {
    l.cur = { name: run.h, shape: [1, U] };
    return l.cur;
  }
  const sequence = stackRows(l.cx.g, `${l.name}/sequence`, reverse ? [...run.ys].reverse() : run.ys);
  l.cur = { name: sequence, shape: [steps, U] };
  return l.emit(l.name, { kind: 'reshape', inputs: [sequence], attrs: { shape: [1, steps, U] } }, [1, steps, U]);
};

/** TF.js layer class → its handler. */
const LAYERS: Record<string, LayerHandler> = {
  InputLayer: passThrough,
  Dense,
  Conv2D: conv2d,
  DepthwiseConv2D: conv2d,
  SeparableConv2D,
  Conv2DTranspose,
  UpSampling2D,
  BatchNormalization,
  Activation: (l) => l.activation(l.c.activation),
  ReLU,
  LeakyReLU,
  ELU,
  ThresholdedReLU,
  PReLU,
  MaxPooling2D: pooling2d,
  AveragePooling2D: pooling2d,
  GlobalAveragePooling2D,
  GlobalMaxPooling2D,
  Conv1D: as1D('Conv2D'),
  MaxPooling1D: as1D('MaxPooling2D'),
  AveragePooling1D: as1D('AveragePooling2D'),
  GlobalAveragePooling1D: as1D('GlobalAveragePooling2D'),
  GlobalMaxPooling1D: as1D('GlobalMaxPooling2D'),
  ZeroPadding2D,
  Flatten,
  Reshape,
  Add: (l) => l.binary('add'),
  Subtract: (l) => l.binary('sub'),
  Multiply: (l) => l.binary('mul'),
  Concatenate,
  LSTM: recurrentLayer,
  GRU: recurrentLayer,
  Dropout: passThrough,
  SpatialDropout2D: passThrough,
  GaussianNoise: passThrough,
};
export const TFJS_LAYERS = Object.keys(LAYERS);

function applyLayer(cx: TfjsImport, json: LayerJson, ins: Value[], index: number): Value {
  const l = new Layer(cx, json, ins, index);
  const handler = Object.hasOwn(LAYERS, json.class_name) ? LAYERS[json.class_name] : undefined;
  if (!handler) throw l.error(`TF.js layer ${json.class_name} is not supported (supported: ${TFJS_LAYERS.join(', ')})`);
  return handler(l);
}

/** A TF.js layers model read (or built in memory by host/compress): its JSON and its weights. */
export interface TfjsModel {
  json: any;
  weights: Map<string, Weight>;
  /** The graph's name: the model's directory for a file. */
  name: string;
  /** The model.json path (or a stand-in for a model built in memory), for messages. */
  source: string;
}

export function readTfjsModel(file: string): TfjsModel {
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(`${file}: not a TF.js model.json (${(e as Error).message})`);
  }
  const topo = json?.modelTopology;
  const modelCfg = topo?.model_config ?? topo;
  if (!modelCfg || typeof modelCfg !== 'object' || !Array.isArray(json.weightsManifest))
    throw new ModelError(`${file}: not a TF.js layers model (no modelTopology/weightsManifest)`);
  const name = path.basename(path.dirname(path.resolve(file)));
  return { json, weights: readWeights(file, json.weightsManifest), name, source: file };
}

export function importTfjs(model: string | TfjsModel): Graph {
  const { json, weights, name: graphName, source: file } = typeof model === 'string' ? readTfjsModel(model) : model;
  const modelCfg = json.modelTopology.model_config ?? json.modelTopology;
  const functional = modelCfg.class_name === 'Model' || modelCfg.class_name === 'Functional';
  if (modelCfg.class_name !== 'Sequential' && !functional)
    throw new ModelError(
      `${file}: TF.js model class ${modelCfg.class_name} is not supported (Sequential, Model/Functional)`,
    );
  const layers: LayerJson[] = Array.isArray(modelCfg.config) ? modelCfg.config : modelCfg.config?.layers;
  if (!Array.isArray(layers) || !layers.length) throw new ModelError(`${file}: the model has no layers`);
  layers.forEach((layer, index) => {
    if (!layer || typeof layer !== 'object' || typeof layer.class_name !== 'string')
      throw new ModelError(`${file}: layer ${index} has no class_name`);
    layer.config = layer.config && typeof layer.config === 'object' ? layer.config : {};
  });
  const names = layers.map((l) => l.name ?? l.config.name);
  const dup = names.find((n, i) => n !== undefined && names.indexOf(n) !== i);
  if (dup !== undefined) throw new ModelError(`${file}: two layers are named '${dup}'`);
  const g = newGraph(graphName, 'NHWC');
  g.meta = { producer: `TF.js ${json.generatedBy ?? ''}`.trim(), source: path.basename(file), sourceLayout: 'NHWC' };
  const cx = new TfjsImport(file, g, weights);

  if (!functional) {
    const first = layers[0].config;
    let cur = cx.addInput('input', first.batch_input_shape ?? first.batchInputShape);
    layers.forEach((layer, index) => {
      cur = applyLayer(cx, layer, [cur], index);
    });
    g.outputs = [cur.name];
    return g;
  }
  // Functional: apply each layer once all the layers it reads are done (the JSON lists them topologically, but
  // nothing promises it).
  const values = new Map<string, Value>();
  const pending = layers.map((layer, index) => ({ layer, index, name: String(names[index]) }));
  while (pending.length) {
    const ready = pending.findIndex(({ layer, index, name }) =>
      inboundLayers(layer, `layer ${index} '${name}'`).every((n) => values.has(n)),
    );
    if (ready < 0)
      throw new ModelError(
        `${file}: layers ${pending.map((p) => p.name).join(', ')} read layers that do not exist (or form a cycle)`,
      );
    const [{ layer, index, name }] = pending.splice(ready, 1);
    if (layer.class_name === 'InputLayer') {
      values.set(
        name,
        cx.addInput(name, layer.config.batch_input_shape ?? layer.config.batchInputShape ?? layer.config.batch_shape),
      );
      continue;
    }
    const ins = inboundLayers(layer, `layer ${index} '${name}'`).map((n) => values.get(n)!);
    if (!ins.length) throw new ModelError(`${file}: layer ${index} '${name}' has no inputs`);
    values.set(name, applyLayer(cx, layer, ins, index));
  }
  g.outputs = layerNames(modelCfg.config.output_layers).map((n) => {
    const v = values.get(n);
    if (!v) throw new ModelError(`${file}: output layer ${n} does not exist`);
    return v.name;
  });
  if (!g.outputs.length) throw new ModelError(`${file}: the model names no output layer`);
  const inputOrder = layerNames(modelCfg.config.input_layers);
  g.inputs.sort((a, b) => inputOrder.indexOf(a) - inputOrder.indexOf(b));
  return g;
}
