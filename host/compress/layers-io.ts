// TF.js layers models (model.json + weights.bin) as SeqModels: read through the TF.js importer's reader, written
// synchronously and byte-deterministically in Keras' snake_case config, which both tf.loadLayersModel and Morsel's
// TF.js importer read (and which the compiler takes in memory: layersModel).

import * as fs from 'fs';
import * as path from 'path';
import { readTfjsModel, type TfjsModel } from '../import/tfjs';
import { ModelError } from '../ir/graph';
import { writeFileAtomic } from '../util/fs';
import { type Activation, type Layer, layerShapes, type Pad, type SeqModel } from './seq-model';

interface LayerJson {
  class_name: string;
  config: Record<string, any>;
}

function activationOf(name: string, act: unknown): Activation {
  if (act === undefined || act === null || act === 'linear' || act === 'relu') return (act ?? 'linear') as Activation;
  throw new ModelError(`layer ${name}: activation '${act}' is not supported by the compression tools (linear, relu)`);
}

export function loadLayersModel(file: string): SeqModel {
  const { json, weights } = readTfjsModel(file);
  const topo = json.modelTopology.model_config ?? json.modelTopology;
  if (topo.class_name !== 'Sequential') throw new ModelError(`${file}: not a Sequential TF.js layers model`);
  const layerList: LayerJson[] = Array.isArray(topo.config) ? topo.config : topo.config.layers;
  const w = (layer: string, key: string) => {
    const d = weights.get(`${layer}/${key}`);
    if (!d) throw new ModelError(`${file}: weight ${layer}/${key} is missing`);
    return d.data;
  };
  const inShape = layerList[0]?.config?.batch_input_shape as (number | null)[] | undefined;
  if (!inShape) throw new ModelError(`${file}: the first layer has no batch_input_shape`);
  const layers: Layer[] = [];
  for (const { class_name: cls, config: c } of layerList) {
    const name: string = c.name;
    const conv = () => ({
      kernelSize: c.kernel_size as [number, number],
      strides: (c.strides ?? [1, 1]) as [number, number],
      padding: (c.padding ?? 'valid') as Pad,
      activation: activationOf(name, c.activation),
    });
    const dilated = (c.dilation_rate ?? [1, 1]).some((d: number) => d !== 1);
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Dense':
        layers.push({
          kind: 'dense',
          name,
          units: c.units,
          activation: activationOf(name, c.activation),
          kernel: w(name, 'kernel'),
          bias: c.use_bias === false ? undefined : w(name, 'bias'),
        });
        break;
      case 'Conv2D':
        if (dilated)
          throw new ModelError(`layer ${name}: dilated convolutions are not supported by the compression tools`);
        layers.push({
          kind: 'conv2d',
          name,
          filters: c.filters,
          ...conv(),
          kernel: w(name, 'kernel'),
          bias: c.use_bias === false ? undefined : w(name, 'bias'),
        });
        break;
      case 'DepthwiseConv2D':
        if (dilated || (c.depth_multiplier ?? 1) !== 1)
          throw new ModelError(
            `layer ${name}: only depth_multiplier 1 without dilation is supported by the compression tools`,
          );
        layers.push({
          kind: 'depthwise_conv2d',
          name,
          ...conv(),
          kernel: w(name, 'depthwise_kernel'),
          bias: c.use_bias === false ? undefined : w(name, 'bias'),
        });
        break;
      case 'BatchNormalization': {
        const mean = w(name, 'moving_mean');
        layers.push({
          kind: 'batchnorm',
          name,
          epsilon: c.epsilon ?? 1e-3,
          gamma: c.scale === false ? new Float32Array(mean.length).fill(1) : w(name, 'gamma'),
          beta: c.center === false ? new Float32Array(mean.length) : w(name, 'beta'),
          mean,
          variance: w(name, 'moving_variance'),
        });
        break;
      }
      case 'Activation':
      case 'ReLU':
        if (cls === 'ReLU' ? c.max_value != null : activationOf(name, c.activation) !== 'relu')
          throw new ModelError(`layer ${name}: only plain ReLU activations are supported by the compression tools`);
        layers.push({ kind: 'relu', name });
        break;
      case 'MaxPooling2D':
        if ((c.padding ?? 'valid') !== 'valid')
          throw new ModelError(`layer ${name}: only 'valid' max pooling is supported by the compression tools`);
        layers.push({ kind: 'max_pool', name, poolSize: c.pool_size, strides: c.strides ?? c.pool_size });
        break;
      case 'Flatten':
        layers.push({ kind: 'flatten', name });
        break;
      default:
        throw new ModelError(`layer ${name}: ${cls} is not supported by the compression tools`);
    }
  }
  const model: SeqModel = {
    name: topo.config.name ?? path.basename(path.dirname(path.resolve(file))),
    inputShape: inShape.slice(1) as number[],
    layers,
  };
  layerShapes(model);
  return model;
}

function layerJson(l: Layer): { json: LayerJson; weights: [string, Float32Array, number[]][] } {
  const common = { name: l.name, trainable: true, dtype: 'float32' };
  switch (l.kind) {
    case 'dense': {
      const inputs = l.kernel.length / l.units;
      const weights: [string, Float32Array, number[]][] = [[`${l.name}/kernel`, l.kernel, [inputs, l.units]]];
      if (l.bias) weights.push([`${l.name}/bias`, l.bias, [l.units]]);
      return {
        json: {
          class_name: 'Dense',
          config: { ...common, units: l.units, activation: l.activation, use_bias: !!l.bias },
        },
        weights,
      };
    }
    case 'conv2d':
    case 'depthwise_conv2d': {
      const [kh, kw] = l.kernelSize;
      const dw = l.kind === 'depthwise_conv2d';
      const out = dw ? l.kernel.length / (kh * kw) : l.filters;
      const inC = dw ? out : l.kernel.length / (kh * kw * out);
      const weights: [string, Float32Array, number[]][] = [
        [`${l.name}/${dw ? 'depthwise_kernel' : 'kernel'}`, l.kernel, dw ? [kh, kw, inC, 1] : [kh, kw, inC, out]],
      ];
      if (l.bias) weights.push([`${l.name}/bias`, l.bias, [out]]);
      const config = {
        ...common,
        kernel_size: l.kernelSize,
        strides: l.strides,
        padding: l.padding,
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: l.activation,
        use_bias: !!l.bias,
        ...(dw ? { depth_multiplier: 1 } : { filters: l.filters }),
      };
      return { json: { class_name: dw ? 'DepthwiseConv2D' : 'Conv2D', config }, weights };
    }
    case 'batchnorm': {
      const c = [l.gamma.length];
      return {
        json: {
          class_name: 'BatchNormalization',
          config: { ...common, axis: -1, momentum: 0.99, epsilon: l.epsilon, center: true, scale: true },
        },
        weights: [
          [`${l.name}/gamma`, l.gamma, c],
          [`${l.name}/beta`, l.beta, c],
          [`${l.name}/moving_mean`, l.mean, c],
          [`${l.name}/moving_variance`, l.variance, c],
        ],
      };
    }
    case 'relu':
      return { json: { class_name: 'Activation', config: { ...common, activation: 'relu' } }, weights: [] };
    case 'max_pool':
      return {
        json: {
          class_name: 'MaxPooling2D',
          config: {
            ...common,
            pool_size: l.poolSize,
            strides: l.strides,
            padding: 'valid',
            data_format: 'channels_last',
          },
        },
        weights: [],
      };
    case 'flatten':
      return { json: { class_name: 'Flatten', config: { ...common, data_format: 'channels_last' } }, weights: [] };
  }
}

/** A SeqModel as a TF.js layers model in memory, as the TF.js importer reads it (weights copied). */
export function layersModel(m: SeqModel): TfjsModel {
  layerShapes(m);
  const parts = m.layers.map(layerJson);
  parts[0].json.config.batch_input_shape = [null, ...m.inputShape];
  const all = parts.flatMap((p) => p.weights);
  const json = {
    format: 'layers-model',
    generatedBy: 'morsel compress',
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name: m.name, layers: parts.map((p) => p.json) },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [
      { paths: ['weights.bin'], weights: all.map(([name, , shape]) => ({ name, shape, dtype: 'float32' })) },
    ],
  };
  const weights = new Map(all.map(([name, data, shape]) => [name, { shape, data: data.slice() }]));
  return { json, weights, name: m.name, source: `${m.name}/model.json` };
}

/** model.json text and weights.bin bytes of a SeqModel. */
function serializeLayersModel(m: SeqModel): { modelJson: string; weights: Uint8Array } {
  const { json, weights } = layersModel(m);
  const total = [...weights.values()].reduce((a, w) => a + w.data.length, 0);
  const bytes = Buffer.alloc(4 * total);
  let offset = 0;
  for (const { data: d } of weights.values())
    for (let i = 0; i < d.length; i++, offset += 4) bytes.writeFloatLE(d[i], offset);
  return {
    modelJson: JSON.stringify(json) + '\n',
    weights: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
  };
}

/** Writes dir/model.json and dir/weights.bin; returns the model.json path. */
export function saveLayersModel(m: SeqModel, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const { modelJson, weights } = serializeLayersModel(m);
  writeFileAtomic(path.join(dir, 'weights.bin'), weights);
  const file = path.join(dir, 'model.json');
  writeFileAtomic(file, modelJson);
  return file;
}
