// TensorFlow.js layers models (model.json + weight shards) → float Graph, NHWC.
// Sequential models and functional models (class Model/Functional, layers wired by inbound_nodes); weights are
// converted to the IR's layouts (conv [out,kh,kw,in], depthwise [1,kh,kw,out], dense [out,in]).

import * as fs from 'fs';
import * as path from 'path';
import { type Clamp, type Graph, ModelError, newGraph, numel, type Tensor } from '../ir/graph';
import { type WindowPadding, windowPadding2D } from '../ir/shape';

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

export const TFJS_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'Add',
  'Subtract',
  'Multiply',
  'Concatenate',
];

function readWeights(file: string, manifest: any[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const group of manifest) {
    const chunks = (group.paths as string[]).map((p) => {
      const f = path.join(path.dirname(file), p);
      if (!fs.existsSync(f)) throw new ModelError(`${file}: weight shard ${p} not found`);
      return fs.readFileSync(f);
    });
    const all = Buffer.concat(chunks);
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32' || w.quantization)
        throw new ModelError(`${file}: weight ${w.name} has dtype ${w.dtype}; only float32 weights are supported`);
      const n = numel(w.shape as number[]);
      if (offset + 4 * n > all.length) throw new ModelError(`${file}: weight shards are truncated at ${w.name}`);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = all.readFloatLE(offset + 4 * i);
      for (let i = 0; i < n; i++)
        if (!Number.isFinite(data[i])) throw new ModelError(`${file}: weight ${w.name} contains NaN or Inf`);
      out.set(w.name, data);
      offset += 4 * n;
    }
  }
  return out;
}

/** Keras padding names are the shared helper's. */
function kerasPadding(padding: string): WindowPadding {
  if (padding !== 'valid' && padding !== 'same')
    throw new ModelError(`padding '${padding}' is not supported (valid, same)`);
  return padding;
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

const pair = (v: unknown, d: number): [number, number] =>
  Array.isArray(v) ? [v[0], v[1]] : v == null ? [d, d] : [v as number, v as number];

/** Names of the layers a functional layer reads, from Keras 2 (`[[name, node, tensor, kwargs]]`) or Keras 3 (`keras_history`) JSON. */
function inboundLayers(layer: LayerJson, where: string): string[] {
  const calls = layer.inbound_nodes ?? [];
  if (calls.length > 1)
    throw new ModelError(`${where}: shared layers (called ${calls.length} times) are not supported`);
  if (!calls.length) return [];
  const names: string[] = [];
  const visit = (v: any) => {
    if (Array.isArray(v)) {
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        if (v[2] !== 0)
          throw new ModelError(
            `${where}: reads output ${v[2]} of layer ${v[0]}; only single-output layers are supported`,
          );
        names.push(v[0]);
      } else v.forEach(visit);
    } else if (v && typeof v === 'object') {
      if (Array.isArray(v.config?.keras_history)) visit(v.config.keras_history);
      else if (v.args) visit(v.args);
    }
  };
  visit(calls[0]);
  return names;
}

/** A TF.js layers model in memory: model.json parsed, its weights by name, and where it came from. */
export interface TfjsModel {
  json: any;
  weights: Map<string, Float32Array>;
  /** The graph's name: the model's directory for a file. */
  name: string;
  /** The model.json path (or a stand-in for a model built in memory), for messages. */
  source: string;
}

/** Reads a TF.js layers model.json and its weight shards (float32). */
export function readTfjsModel(file: string): TfjsModel {
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(`${file}: not a TF.js model.json (${(e as Error).message})`);
  }
  const topo = json?.modelTopology;
  const modelCfg = topo?.model_config ?? topo;
  if (!modelCfg || !Array.isArray(json.weightsManifest))
    throw new ModelError(`${file}: not a TF.js layers model (no modelTopology/weightsManifest)`);
  const functional = modelCfg.class_name === 'Model' || modelCfg.class_name === 'Functional';
  if (modelCfg.class_name !== 'Sequential' && !functional)
    throw new ModelError(
      `${file}: TF.js model class ${modelCfg.class_name} is not supported (Sequential, Model/Functional)`,
    );
  const name = path.basename(path.dirname(path.resolve(file)));
  return { json, weights: readWeights(file, json.weightsManifest), name, source: file };
}

export function importTfjs(model: string | TfjsModel): Graph {
  const { json, weights, name: graphName, source: file } = typeof model === 'string' ? readTfjsModel(model) : model;
  const topo = json.modelTopology;
  const modelCfg = topo.model_config ?? topo;
  const functional = modelCfg.class_name === 'Model' || modelCfg.class_name === 'Functional';
  const layers: LayerJson[] = Array.isArray(modelCfg.config) ? modelCfg.config : modelCfg.config.layers;
  const g = newGraph(graphName, 'NHWC');
  g.meta = { producer: `TF.js ${json.generatedBy ?? ''}`.trim(), source: path.basename(file) };

  const constant = (name: string, shp: number[], data: Float32Array) => {
    g.tensors.set(name, { name, dtype: 'float32', shape: shp, data });
    return name;
  };
  const weight = (layer: string, w: string) => {
    const d = weights.get(`${layer}/${w}`);
    if (!d) throw new ModelError(`${file}: weight ${layer}/${w} is missing from the weight manifest`);
    return d;
  };
  const addInput = (name: string, batchShape: (number | null)[] | undefined): Value => {
    if (!batchShape) throw new ModelError(`${file}: input layer ${name} has no batch_input_shape`);
    const shape = [1, ...batchShape.slice(1).map((d) => d as number)];
    if (shape.some((d) => !(d >= 1)))
      throw new ModelError(`${file}: input ${name} needs static dimensions (got [${batchShape}])`);
    g.tensors.set(name, { name, dtype: 'float32', shape });
    g.inputs.push(name);
    return { name, shape };
  };

  /** Emits the ops of one layer on its inputs; returns its output value (or its input, for layers that vanish). */
  const applyLayer = (layer: LayerJson, ins: Value[], index: number): Value => {
    const c = layer.config;
    const name: string = c.name ?? layer.name ?? `layer${index}`;
    const where = `layer ${index} '${name}' (${layer.class_name})`;
    let cur = ins[0];
    const emit = (opName: string, op: any, outShape: number[]): Value => {
      const out = `${opName}:0`;
      g.tensors.set(out, { name: out, dtype: 'float32', shape: outShape } as Tensor);
      g.nodes.push({ name: opName, op: { ...op, outputs: [out] } });
      return (cur = { name: out, shape: outShape });
    };
    const activation = (act: string | undefined): Value => {
      if (!act || act === 'linear') return cur;
      const unary = { kind: act, inputs: [cur.name], attrs: {} };
      if (act === 'relu' || act === 'sigmoid' || act === 'tanh') return emit(`${name}/${act}`, unary, cur.shape);
      if (act === 'relu6')
        return emit(
          `${name}/relu6`,
          { kind: 'clip', inputs: [cur.name], attrs: { min: 0, max: 6 } as Clamp },
          cur.shape,
        );
      if (act === 'softmax')
        return emit(
          `${name}/softmax`,
          { kind: 'softmax', inputs: [cur.name], attrs: { axis: -1, beta: 1 } },
          cur.shape,
        );
      throw new ModelError(
        `${where}: activation '${act}' is not supported (linear, relu, relu6, sigmoid, tanh, softmax)`,
      );
    };
    const need4d = () => {
      if (cur.shape.length !== 4) throw new ModelError(`${where}: expects a 4-D input, got [${cur.shape}]`);
      if ((c.data_format ?? 'channels_last') !== 'channels_last')
        throw new ModelError(`${where}: only channels_last is supported`);
    };
    const conv = (
      opName: string,
      kind: 'conv2d' | 'depthwise_conv2d',
      kernel: [number, number],
      strides: [number, number],
      dilations: [number, number],
      padding: string,
      w: string,
      co: number,
      bias?: string,
      multiplier = 1,
    ) => {
      const { pads, outH, outW } = windowPadding2D(
        kerasPadding(padding),
        [cur.shape[1], cur.shape[2]],
        kernel,
        strides,
        dilations,
      );
      const attrs = {
        strides,
        dilations,
        pads,
        group: kind === 'depthwise_conv2d' ? cur.shape[3] : 1,
        ...(kind === 'depthwise_conv2d' ? { multiplier } : {}),
      };
      return emit(opName, { kind, inputs: bias ? [cur.name, w, bias] : [cur.name, w], attrs }, [1, outH, outW, co]);
    };
    const binary = (kind: 'add' | 'sub' | 'mul') => {
      if (ins.length < 2 || (kind === 'sub' && ins.length !== 2))
        throw new ModelError(
          `${where}: needs ${kind === 'sub' ? 'exactly 2' : 'at least 2'} inputs, got ${ins.length}`,
        );
      let acc = ins[0];
      for (let k = 1; k < ins.length; k++) {
        const shape = acc.shape.length >= ins[k].shape.length ? acc.shape : ins[k].shape;
        acc = emit(
          k === ins.length - 1 ? name : `${name}/${k}`,
          { kind, inputs: [acc.name, ins[k].name], attrs: {} },
          shape,
        );
      }
      return acc;
    };

    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
      case 'SpatialDropout2D':
      case 'GaussianNoise':
        return cur;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        need4d();
        const k = pair(c.kernel_size, 1),
          s = pair(c.strides, 1),
          d = pair(c.dilation_rate, 1);
        const ci = cur.shape[3];
        const dw = layer.class_name === 'DepthwiseConv2D';
        const m = dw ? (c.depth_multiplier ?? 1) : 1;
        const co = dw ? ci * m : c.filters;
        const kernel = weight(name, dw ? 'depthwise_kernel' : 'kernel');
        // Depthwise [kh,kw,ci,m] is already [1,kh,kw,ci*m] in memory (channel oc = ic*m + j).
        const w = dw
          ? constant(`${name}/weights`, [1, k[0], k[1], co], kernel)
          : constant(`${name}/weights`, [co, k[0], k[1], ci], transposeKernel(kernel, [k[0], k[1], ci, co]));
        const bias = c.use_bias === false ? undefined : constant(`${name}/bias`, [co], weight(name, 'bias'));
        conv(name, dw ? 'depthwise_conv2d' : 'conv2d', k, s, d, c.padding ?? 'valid', w, co, bias, m);
        return activation(c.activation);
      }
      case 'SeparableConv2D': {
        // Depthwise (no bias) then a 1×1 convolution with the layer's bias and activation.
        need4d();
        const k = pair(c.kernel_size, 1),
          s = pair(c.strides, 1),
          d = pair(c.dilation_rate, 1);
        const ci = cur.shape[3];
        const dwKernel = weight(name, 'depthwise_kernel');
        // tfjs-layers leaves depth_multiplier out of a SeparableConv2D's JSON; the kernel [kh,kw,ci,m] has it.
        const m = dwKernel.length / (k[0] * k[1] * ci);
        if (!Number.isInteger(m) || (c.depth_multiplier != null && c.depth_multiplier !== m))
          throw new ModelError(
            `${where}: depthwise kernel of ${dwKernel.length} values does not fit [${k}] × ${ci} channels`,
          );
        const dwW = constant(`${name}/depthwise_weights`, [1, k[0], k[1], ci * m], dwKernel);
        conv(`${name}/depthwise`, 'depthwise_conv2d', k, s, d, c.padding ?? 'valid', dwW, ci * m, undefined, m);
        const pwW = constant(
          `${name}/pointwise_weights`,
          [c.filters, 1, 1, ci * m],
          transposeKernel(weight(name, 'pointwise_kernel'), [1, 1, ci * m, c.filters]),
        );
        const bias = c.use_bias === false ? undefined : constant(`${name}/bias`, [c.filters], weight(name, 'bias'));
        conv(name, 'conv2d', [1, 1], [1, 1], [1, 1], 'valid', pwW, c.filters, bias);
        return activation(c.activation);
      }
      case 'Dense': {
        const n = cur.shape[cur.shape.length - 1];
        if (cur.shape.length !== 2)
          throw new ModelError(`${where}: Dense on a ${cur.shape.length}-D input is not supported; flatten first`);
        const kernel = weight(name, 'kernel');
        const w = new Float32Array(kernel.length);
        for (let i = 0; i < n; i++) for (let o = 0; o < c.units; o++) w[o * n + i] = kernel[i * c.units + o];
        const inputs = [cur.name, constant(`${name}/weights`, [c.units, n], w)];
        if (c.use_bias !== false) inputs.push(constant(`${name}/bias`, [c.units], weight(name, 'bias')));
        emit(name, { kind: 'dense', inputs, attrs: {} }, [1, c.units]);
        return activation(c.activation);
      }
      case 'BatchNormalization': {
        const rank = cur.shape.length;
        const axis = Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1);
        if (axis !== -1 && axis !== rank - 1)
          throw new ModelError(`${where}: batch normalization over axis ${axis} is not supported (channels last)`);
        const ch = cur.shape[rank - 1];
        const gamma = c.scale === false ? new Float32Array(ch).fill(1) : weight(name, 'gamma');
        const beta = c.center === false ? new Float32Array(ch) : weight(name, 'beta');
        const inputs = [
          cur.name,
          constant(`${name}/gamma`, [ch], gamma),
          constant(`${name}/beta`, [ch], beta),
          constant(`${name}/mean`, [ch], weight(name, 'moving_mean')),
          constant(`${name}/variance`, [ch], weight(name, 'moving_variance')),
        ];
        return emit(
          name,
          { kind: 'batchnorm', inputs, attrs: { epsilon: c.epsilon ?? 1e-3, axis: rank - 1 } },
          cur.shape,
        );
      }
      case 'Activation':
        return activation(c.activation);
      case 'ReLU': {
        if (c.threshold) throw new ModelError(`${where}: a ReLU threshold is not supported`);
        if (c.negative_slope) {
          if (c.max_value != null)
            throw new ModelError(`${where}: ReLU with both negative_slope and max_value is not supported`);
          return emit(name, { kind: 'leaky_relu', inputs: [cur.name], attrs: { alpha: c.negative_slope } }, cur.shape);
        }
        if (c.max_value != null)
          return emit(name, { kind: 'clip', inputs: [cur.name], attrs: { min: 0, max: c.max_value } }, cur.shape);
        return emit(name, { kind: 'relu', inputs: [cur.name], attrs: {} }, cur.shape);
      }
      case 'LeakyReLU':
        return emit(name, { kind: 'leaky_relu', inputs: [cur.name], attrs: { alpha: c.alpha ?? 0.3 } }, cur.shape);
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        need4d();
        const k = pair(c.pool_size, 2);
        const s = c.strides == null ? k : pair(c.strides, 1);
        const { pads, outH, outW } = windowPadding2D(
          kerasPadding(c.padding ?? 'valid'),
          [cur.shape[1], cur.shape[2]],
          k,
          s,
        );
        // TF averages over the taps inside the input, as TFLite does (countIncludePad false).
        return emit(
          name,
          {
            kind: layer.class_name === 'MaxPooling2D' ? 'max_pool' : 'avg_pool',
            inputs: [cur.name],
            attrs: { kernel: k, strides: s, pads },
          },
          [1, outH, outW, cur.shape[3]],
        );
      }
      case 'GlobalAveragePooling2D': {
        need4d();
        const keep = !!c.keepdims;
        return emit(
          name,
          { kind: 'mean', inputs: [cur.name], attrs: { axes: [1, 2], keepDims: keep } },
          keep ? [1, 1, 1, cur.shape[3]] : [1, cur.shape[3]],
        );
      }
      case 'ZeroPadding2D': {
        need4d();
        const p = c.padding;
        const [[t, b], [l, r]] = Array.isArray(p)
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
        return emit(name, { kind: 'pad', inputs: [cur.name], attrs: { pads: [0, t, l, 0, 0, b, r, 0], value: 0 } }, [
          1,
          cur.shape[1] + t + b,
          cur.shape[2] + l + r,
          cur.shape[3],
        ]);
      }
      case 'Flatten':
        return emit(name, { kind: 'reshape', inputs: [cur.name], attrs: { shape: [1, numel(cur.shape)] } }, [
          1,
          numel(cur.shape),
        ]);
      case 'Reshape': {
        const target = [1, ...(c.target_shape as number[])];
        const known = numel(target.filter((d) => d !== -1));
        const shape = target.map((d) => (d === -1 ? numel(cur.shape) / known : d));
        if (numel(shape) !== numel(cur.shape) || shape.some((d) => !Number.isInteger(d)))
          throw new ModelError(`${where}: cannot reshape [${cur.shape}] to [${target}]`);
        return emit(name, { kind: 'reshape', inputs: [cur.name], attrs: { shape } }, shape);
      }
      case 'Add':
        return binary('add');
      case 'Subtract':
        return binary('sub');
      case 'Multiply':
        return binary('mul');
      case 'Concatenate': {
        const rank = cur.shape.length;
        const axis = (c.axis ?? -1) < 0 ? (c.axis ?? -1) + rank : c.axis;
        for (const v of ins) {
          if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== cur.shape[i]))
            throw new ModelError(`${where}: input [${v.shape}] does not fit [${cur.shape}] along axis ${axis}`);
        }
        const shape = [...cur.shape];
        shape[axis] = ins.reduce((s, v) => s + v.shape[axis], 0);
        return emit(name, { kind: 'concat', inputs: ins.map((v) => v.name), attrs: { axis } }, shape);
      }
      default:
        throw new ModelError(
          `${where}: TF.js layer ${layer.class_name} is not supported (supported: ${TFJS_LAYERS.join(', ')})`,
        );
    }
  };

  const values = new Map<string, Value>();
  if (!functional) {
    const first = layers[0]?.config;
    let cur = addInput('input', first?.batch_input_shape ?? first?.batchInputShape);
    layers.forEach((layer, index) => {
      cur = applyLayer(layer, [cur], index);
    });
    g.outputs = [cur.name];
    return g;
  }
  // Functional: apply each layer once all the layers it reads are done (the JSON lists them topologically, but
  // nothing promises it).
  const pending = layers.map((layer, index) => ({ layer, index, name: (layer.name ?? layer.config.name) as string }));
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
        addInput(name, layer.config.batch_input_shape ?? layer.config.batchInputShape ?? layer.config.batch_shape),
      );
      continue;
    }
    const ins = inboundLayers(layer, `layer ${index} '${name}'`).map((n) => values.get(n)!);
    if (!ins.length) throw new ModelError(`${file}: layer ${index} '${name}' has no inputs`);
    values.set(name, applyLayer(layer, ins, index));
  }
  const ends = (spec: unknown): string[] =>
    Array.isArray(spec) && typeof spec[0] === 'string' ? [spec[0]] : Array.isArray(spec) ? spec.flatMap(ends) : [];
  g.outputs = ends(modelCfg.config.output_layers).map((n) => {
    const v = values.get(n);
    if (!v) throw new ModelError(`${file}: output layer ${n} does not exist`);
    return v.name;
  });
  const inputOrder = ends(modelCfg.config.input_layers);
  g.inputs.sort((a, b) => inputOrder.indexOf(a) - inputOrder.indexOf(b));
  return g;
}
