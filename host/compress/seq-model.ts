// The compression tools' view of a model: a sequential stack of Keras-style layers with float weights in
// Keras layouts (dense [in, out], conv [kh, kw, in, out], depthwise [kh, kw, in, 1]). Compression passes
// rewrite this structure (drop channels, split layers, change widths) and it is saved back as a standard
// TF.js layers model, so the compiler imports the result like any other model.

import { ModelError } from '../ir/graph';
import { numel, windowAxis } from '../ir/shape';

export type Activation = 'linear' | 'relu';
export type Pad = 'valid' | 'same';

export type Layer =
  | { kind: 'dense'; name: string; units: number; activation: Activation; kernel: Float32Array; bias?: Float32Array }
  | {
      kind: 'conv2d';
      name: string;
      filters: number;
      kernelSize: [number, number];
      strides: [number, number];
      padding: Pad;
      activation: Activation;
      kernel: Float32Array;
      bias?: Float32Array;
    }
  | {
      kind: 'depthwise_conv2d';
      name: string;
      kernelSize: [number, number];
      strides: [number, number];
      padding: Pad;
      activation: Activation;
      kernel: Float32Array;
      bias?: Float32Array;
    }
  | {
      kind: 'batchnorm';
      name: string;
      epsilon: number;
      gamma: Float32Array;
      beta: Float32Array;
      mean: Float32Array;
      variance: Float32Array;
    }
  | { kind: 'relu'; name: string }
  | { kind: 'max_pool'; name: string; poolSize: [number, number]; strides: [number, number] }
  | { kind: 'flatten'; name: string };

export type WeightLayer = Extract<Layer, { kernel: Float32Array }>;

export interface SeqModel {
  name: string;
  /** Input shape without the batch dimension: [784] or [28, 28, 1]. */
  inputShape: number[];
  layers: Layer[];
}

export const isWeightLayer = (l: Layer): l is WeightLayer => 'kernel' in l;

const convOut = (size: number, k: number, s: number, padding: Pad): number => windowAxis(padding, size, k, s).out;

/** Output shape (without batch) of every layer, checking that each layer fits its input. */
export function layerShapes(m: SeqModel): number[][] {
  let shape = m.inputShape;
  return m.layers.map((l) => {
    const where = `${m.name}/${l.name}`;
    const need4 = () => {
      if (shape.length !== 3) throw new ModelError(`${where}: expects an [H, W, C] input, got [${shape}]`);
    };
    switch (l.kind) {
      case 'dense':
        if (shape.length !== 1) throw new ModelError(`${where}: Dense needs a flat input, got [${shape}]`);
        if (l.kernel.length !== shape[0] * l.units)
          throw new ModelError(`${where}: kernel has ${l.kernel.length} values, expected ${shape[0]}×${l.units}`);
        shape = [l.units];
        break;
      case 'conv2d':
        need4();
        if (l.kernel.length !== l.kernelSize[0] * l.kernelSize[1] * shape[2] * l.filters)
          throw new ModelError(`${where}: kernel size does not match ${shape[2]} input channels`);
        shape = [
          convOut(shape[0], l.kernelSize[0], l.strides[0], l.padding),
          convOut(shape[1], l.kernelSize[1], l.strides[1], l.padding),
          l.filters,
        ];
        break;
      case 'depthwise_conv2d':
        need4();
        if (l.kernel.length !== l.kernelSize[0] * l.kernelSize[1] * shape[2])
          throw new ModelError(`${where}: depthwise kernel does not match ${shape[2]} channels (multiplier 1 only)`);
        shape = [
          convOut(shape[0], l.kernelSize[0], l.strides[0], l.padding),
          convOut(shape[1], l.kernelSize[1], l.strides[1], l.padding),
          shape[2],
        ];
        break;
      case 'batchnorm':
        if (l.gamma.length !== shape[shape.length - 1])
          throw new ModelError(`${where}: ${l.gamma.length} channels, input has ${shape[shape.length - 1]}`);
        break;
      case 'max_pool':
        need4();
        shape = [
          convOut(shape[0], l.poolSize[0], l.strides[0], 'valid'),
          convOut(shape[1], l.poolSize[1], l.strides[1], 'valid'),
          shape[2],
        ];
        break;
      case 'flatten':
        shape = [numel(shape)];
        break;
      case 'relu':
        break;
    }
    return shape;
  });
}

export function inputShapeOf(m: SeqModel, index: number): number[] {
  return index === 0 ? m.inputShape : layerShapes(m)[index - 1];
}

/** Multiply-accumulates of one inference, per layer (BN counts 0: it folds into the convolution). */
export function layerMacs(m: SeqModel): number[] {
  const shapes = layerShapes(m);
  return m.layers.map((l, i) => {
    const input = i === 0 ? m.inputShape : shapes[i - 1];
    const out = shapes[i];
    if (l.kind === 'dense') return input[0] * l.units;
    if (l.kind === 'conv2d') return numel(out) * l.kernelSize[0] * l.kernelSize[1] * input[2];
    if (l.kind === 'depthwise_conv2d') return numel(out) * l.kernelSize[0] * l.kernelSize[1];
    return 0;
  });
}

export const totalMacs = (m: SeqModel): number => layerMacs(m).reduce((a, b) => a + b, 0);

export function paramCount(m: SeqModel): number {
  return m.layers.reduce((a, l) => {
    if (isWeightLayer(l)) return a + l.kernel.length + (l.bias?.length ?? 0);
    if (l.kind === 'batchnorm') return a + 4 * l.gamma.length;
    return a;
  }, 0);
}

/** Output channel count of a weight layer (the last axis of its Keras kernel). */
export function outChannels(l: WeightLayer): number {
  return l.kind === 'dense'
    ? l.units
    : l.kind === 'conv2d'
      ? l.filters
      : l.kernel.length / (l.kernelSize[0] * l.kernelSize[1]);
}

export function cloneModel(m: SeqModel): SeqModel {
  const copy = (v: unknown) => (v instanceof Float32Array ? Float32Array.from(v) : Array.isArray(v) ? [...v] : v);
  return {
    name: m.name,
    inputShape: [...m.inputShape],
    layers: m.layers.map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, copy(v)])) as Layer),
  };
}

export function findLayer(m: SeqModel, name: string): { layer: Layer; index: number } {
  const index = m.layers.findIndex((l) => l.name === name);
  if (index < 0)
    throw new ModelError(`${m.name}: no layer named '${name}' (layers: ${m.layers.map((l) => l.name).join(', ')})`);
  return { layer: m.layers[index], index };
}
