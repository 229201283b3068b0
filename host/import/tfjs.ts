// TensorFlow.js layers models (model.json + weight shards) → float Graph, NHWC.
// Sequential models; weights are converted to the IR's layouts (conv [out,kh,kw,in], depthwise [1,kh,kw,out],
// dense [out,in]).

import * as fs from 'fs';
import * as path from 'path';
import { Clamp, Graph, ModelError, newGraph, Padding, Tensor } from '../ir/graph';

interface LayerJson { class_name: string; config: Record<string, any> }

export const TFJS_LAYERS = [
  'InputLayer', 'Dense', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'Activation', 'ReLU', 'MaxPooling2D',
  'AveragePooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Reshape', 'Dropout',
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
      if (w.dtype !== 'float32' || w.quantization) throw new ModelError(`${file}: weight ${w.name} has dtype ${w.dtype}; only float32 weights are supported`);
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      if (offset + 4 * n > all.length) throw new ModelError(`${file}: weight shards are truncated at ${w.name}`);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = all.readFloatLE(offset + 4 * i);
      for (let i = 0; i < n; i++) if (!Number.isFinite(data[i])) throw new ModelError(`${file}: weight ${w.name} contains NaN or Inf`);
      out.set(w.name, data);
      offset += 4 * n;
    }
  }
  return out;
}

function samePads(inH: number, inW: number, k: [number, number], s: [number, number], d: [number, number], padding: string): { pads: Padding; outH: number; outW: number } {
  const ek = [(k[0] - 1) * d[0] + 1, (k[1] - 1) * d[1] + 1];
  if (padding === 'valid') return { pads: [0, 0, 0, 0], outH: Math.floor((inH - ek[0]) / s[0]) + 1, outW: Math.floor((inW - ek[1]) / s[1]) + 1 };
  if (padding !== 'same') throw new ModelError(`padding '${padding}' is not supported (valid, same)`);
  const outH = Math.ceil(inH / s[0]);
  const outW = Math.ceil(inW / s[1]);
  const th = Math.max((outH - 1) * s[0] + ek[0] - inH, 0);
  const tw = Math.max((outW - 1) * s[1] + ek[1] - inW, 0);
  return { pads: [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)], outH, outW };
}

function transposeKernel(k: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
    out[((o * kh + y) * kw + x) * ci + i] = k[((y * kw + x) * ci + i) * co + o];
  }
  return out;
}

export function importTfjs(file: string): Graph {
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError(`${file}: not a TF.js model.json (${(e as Error).message})`);
  }
  const topo = json?.modelTopology;
  const modelCfg = topo?.model_config ?? topo;
  if (!modelCfg || !Array.isArray(json.weightsManifest)) throw new ModelError(`${file}: not a TF.js layers model (no modelTopology/weightsManifest)`);
  if (modelCfg.class_name !== 'Sequential') throw new ModelError(`${file}: only Sequential TF.js models are supported (found ${modelCfg.class_name})`);
  const layers: LayerJson[] = Array.isArray(modelCfg.config) ? modelCfg.config : modelCfg.config.layers;
  const weights = readWeights(file, json.weightsManifest);
  const g = newGraph(path.basename(path.dirname(path.resolve(file))), 'NHWC');
  g.meta = { producer: `TF.js ${json.generatedBy ?? ''}`.trim(), source: path.basename(file) };

  const first = layers[0]?.config;
  const inShape = (first?.batch_input_shape ?? first?.batchInputShape) as (number | null)[] | undefined;
  if (!inShape) throw new ModelError(`${file}: the first layer has no batch_input_shape`);
  let cur = 'input';
  let shape = [1, ...inShape.slice(1).map((d) => d as number)];
  g.tensors.set(cur, { name: cur, dtype: 'float32', shape });
  g.inputs = [cur];
  const constant = (name: string, shp: number[], data: Float32Array) => {
    g.tensors.set(name, { name, dtype: 'float32', shape: shp, data });
    return name;
  };
  const weight = (layer: string, w: string) => {
    const d = weights.get(`${layer}/${w}`);
    if (!d) throw new ModelError(`${file}: weight ${layer}/${w} is missing from the weight manifest`);
    return d;
  };
  const emit = (name: string, op: any, outShape: number[]) => {
    const out = `${name}:0`;
    g.tensors.set(out, { name: out, dtype: 'float32', shape: outShape } as Tensor);
    g.nodes.push({ name, op: { ...op, outputs: [out] } });
    cur = out;
    shape = outShape;
  };
  const activation = (name: string, act: string | undefined) => {
    if (!act || act === 'linear') return;
    if (act === 'relu') emit(`${name}/relu`, { kind: 'relu', inputs: [cur], attrs: {} }, shape);
    else if (act === 'relu6') emit(`${name}/relu6`, { kind: 'clip', inputs: [cur], attrs: { min: 0, max: 6 } as Clamp }, shape);
    else if (act === 'sigmoid' || act === 'tanh') emit(`${name}/${act}`, { kind: act, inputs: [cur], attrs: {} }, shape);
    else if (act === 'softmax') emit(`${name}/softmax`, { kind: 'softmax', inputs: [cur], attrs: { axis: -1, beta: 1 } }, shape);
    else throw new ModelError(`layer ${name}: activation '${act}' is not supported (linear, relu, relu6, sigmoid, tanh, softmax)`);
  };

  layers.forEach((layer, index) => {
    const c = layer.config;
    const name: string = c.name ?? `layer${index}`;
    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
        return;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        if (shape.length !== 4) throw new ModelError(`layer ${name}: expects a 4-D input, got [${shape}]`);
        if ((c.data_format ?? 'channels_last') !== 'channels_last') throw new ModelError(`layer ${name}: only channels_last is supported`);
        const k = c.kernel_size as [number, number];
        const s = (c.strides ?? [1, 1]) as [number, number];
        const d = (c.dilation_rate ?? [1, 1]) as [number, number];
        const { pads, outH, outW } = samePads(shape[1], shape[2], k, s, d, c.padding ?? 'valid');
        const ci = shape[3];
        const dw = layer.class_name === 'DepthwiseConv2D';
        const m = dw ? (c.depth_multiplier ?? 1) : 1;
        const co = dw ? ci * m : c.filters;
        const kernel = weight(name, dw ? 'depthwise_kernel' : 'kernel');
        // Depthwise [kh,kw,ci,m] is already [1,kh,kw,ci*m] in memory (channel oc = ic*m + j).
        const w = dw ? constant(`${name}/weights`, [1, k[0], k[1], co], kernel) : constant(`${name}/weights`, [co, k[0], k[1], ci], transposeKernel(kernel, [k[0], k[1], ci, co]));
        const inputs = c.use_bias === false ? [cur, w] : [cur, w, constant(`${name}/bias`, [co], weight(name, 'bias'))];
        const attrs = { strides: s, dilations: d, pads, group: dw ? ci : 1, ...(dw ? { multiplier: m } : {}) };
        emit(name, { kind: dw ? 'depthwise_conv2d' : 'conv2d', inputs, attrs }, [1, outH, outW, co]);
        activation(name, c.activation);
        return;
      }
      case 'Dense': {
        const n = shape[shape.length - 1];
        if (shape.length !== 2) throw new ModelError(`layer ${name}: Dense on a ${shape.length}-D input is not supported; flatten first`);
        const kernel = weight(name, 'kernel');
        const w = new Float32Array(kernel.length);
        for (let i = 0; i < n; i++) for (let o = 0; o < c.units; o++) w[o * n + i] = kernel[i * c.units + o];
        const inputs = [cur, constant(`${name}/weights`, [c.units, n], w)];
        if (c.use_bias !== false) inputs.push(constant(`${name}/bias`, [c.units], weight(name, 'bias')));
        emit(name, { kind: 'dense', inputs, attrs: {} }, [1, c.units]);
        activation(name, c.activation);
        return;
      }
      case 'BatchNormalization': {
        const ch = shape[shape.length - 1];
        const ones = new Float32Array(ch).fill(1);
        const gamma = c.scale === false ? ones : weight(name, 'gamma');
        const beta = c.center === false ? new Float32Array(ch) : weight(name, 'beta');
        const inputs = [cur, constant(`${name}/gamma`, [ch], gamma), constant(`${name}/beta`, [ch], beta),
          constant(`${name}/mean`, [ch], weight(name, 'moving_mean')), constant(`${name}/variance`, [ch], weight(name, 'moving_variance'))];
        emit(name, { kind: 'batchnorm', inputs, attrs: { epsilon: c.epsilon ?? 1e-3, axis: shape.length - 1 } }, shape);
        return;
      }
      case 'Activation':
        activation(name, c.activation);
        return;
      case 'ReLU':
        if (c.max_value != null) emit(name, { kind: 'clip', inputs: [cur], attrs: { min: 0, max: c.max_value } }, shape);
        else emit(name, { kind: 'relu', inputs: [cur], attrs: {} }, shape);
        return;
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const k = c.pool_size as [number, number];
        const s = (c.strides ?? k) as [number, number];
        const { pads, outH, outW } = samePads(shape[1], shape[2], k, s, [1, 1], c.padding ?? 'valid');
        emit(name, { kind: layer.class_name === 'MaxPooling2D' ? 'max_pool' : 'avg_pool', inputs: [cur], attrs: { kernel: k, strides: s, pads } }, [1, outH, outW, shape[3]]);
        return;
      }
      case 'GlobalAveragePooling2D':
        emit(name, { kind: 'mean', inputs: [cur], attrs: { axes: [1, 2], keepDims: false } }, [1, shape[3]]);
        return;
      case 'Flatten':
        emit(name, { kind: 'reshape', inputs: [cur], attrs: { shape: [1, shape.slice(1).reduce((a, b) => a * b, 1)] } }, [1, shape.slice(1).reduce((a, b) => a * b, 1)]);
        return;
      case 'Reshape': {
        const target = [1, ...(c.target_shape as number[])];
        emit(name, { kind: 'reshape', inputs: [cur], attrs: { shape: target } }, target);
        return;
      }
      default:
        throw new ModelError(`layer ${index} '${name}': TF.js layer ${layer.class_name} is not supported (supported: ${TFJS_LAYERS.join(', ')})`);
    }
  });
  g.outputs = [cur];
  return g;
}
