// A SeqModel as trainable TF.js variables with a forward pass built from tf ops and the im2col kernels.
// Compression state lives here too: pruning masks (re-applied after every optimizer step, so pruned weights
// stay exactly zero), per-layer fake-quantized weight bit widths, and int8 fake quantization of activations.
// Batch-norm layers run with their population statistics, also while fine-tuning (γ and β still train):
// the compression tools fine-tune trained models, where frozen statistics are stable and match inference.

import * as tf from '@tensorflow/tfjs';
import { batchNormFrozen, conv2d, depthwiseConv, maxPool, type Window } from './conv-im2col';
import { fakeQuantActivation, fakeQuantWeights } from './fake-quant';
import { cloneModel, isWeightLayer, type Layer, outChannels, type SeqModel } from './seq-model';

interface Vars {
  kernel?: tf.Variable;
  bias?: tf.Variable;
  gamma?: tf.Variable;
  beta?: tf.Variable;
}

export class TrainableNet {
  readonly vars = new Map<string, Vars>();
  /** 0/1 per kernel element, by layer name. */
  readonly masks = new Map<string, Float32Array>();
  /** Fake-quantized weight bits by layer name (layers not listed stay float). */
  readonly weightBits = new Map<string, number>();
  /** Per-tensor activation ranges for int8 fake quantization, by layer name (input under ''); empty = off. */
  activationRanges = new Map<string, [number, number]>();
  private readonly model: SeqModel;

  constructor(model: SeqModel) {
    this.model = cloneModel(model);
    for (const l of this.model.layers) {
      const v: Vars = {};
      const variable = (key: string, data: Float32Array) =>
        tf.variable(tf.tensor(data), true, `${model.name}/${l.name}/${key}#${nextId++}`);
      if (isWeightLayer(l)) {
        v.kernel = variable('kernel', l.kernel);
        if (l.bias) v.bias = variable('bias', l.bias);
      } else if (l.kind === 'batchnorm') {
        v.gamma = variable('gamma', l.gamma);
        v.beta = variable('beta', l.beta);
      }
      if (v.kernel || v.gamma) this.vars.set(l.name, v);
    }
  }

  get name(): string {
    return this.model.name;
  }

  get inputShape(): number[] {
    return this.model.inputShape;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].flatMap((v) =>
      [v.kernel, v.bias, v.gamma, v.beta].filter((x): x is tf.Variable => !!x),
    );
  }

  /** Sets every trainable variable, in trainableVariables() order. */
  setWeights(weights: Float32Array[]): void {
    this.trainableVariables().forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i], v.shape))));
  }

  setMask(layer: string, mask: Float32Array): void {
    this.masks.set(layer, mask);
    this.applyMasks();
  }

  applyMasks(): void {
    for (const [name, mask] of this.masks) {
      const k = this.vars.get(name)!.kernel!;
      tf.tidy(() => k.assign(tf.mul(k, tf.tensor(mask, k.shape))));
    }
  }

  /** Logits [n, classes] for a batch x [n, ...inputShape]. */
  forward(x: tf.Tensor): tf.Tensor2D {
    const fq = (key: string, t: tf.Tensor) => {
      const r = this.activationRanges.get(key);
      return r ? fakeQuantActivation(t, r[0], r[1]) : t;
    };
    return this.run(fq('', x), this.model.layers.length, (l, h) => fq(l.name, h)) as tf.Tensor2D;
  }

  /** Records each quantized activation's min/max over `x` and turns activation fake quantization on. */
  observeActivationRanges(x: tf.Tensor): void {
    this.activationRanges = new Map();
    const ranges = new Map<string, [number, number]>();
    tf.tidy(() => {
      const note = (key: string, t: tf.Tensor) => ranges.set(key, [t.min().dataSync()[0], t.max().dataSync()[0]]);
      note('', x);
      this.run(x, this.model.layers.length, (l, h) => {
        note(l.name, h);
        return h;
      });
    });
    this.activationRanges = ranges;
  }

  /**
   * Population statistics for every batch norm, layer by layer: the mean and biased variance of its input
   * over `x` with the layers before it already updated. Needed after a structural change (removed input
   * channels change what a later batch norm sees); while fine-tuning they stay frozen.
   */
  recalibrateBatchNorm(x: tf.Tensor): void {
    this.model.layers.forEach((l, k) => {
      if (l.kind !== 'batchnorm') return;
      tf.tidy(() => {
        const h = this.run(x, k);
        const flat = tf.reshape(h, [-1, l.mean.length]);
        const { mean, variance } = tf.moments(flat, 0);
        l.mean = Float32Array.from(mean.dataSync() as Float32Array);
        l.variance = Float32Array.from(variance.dataSync() as Float32Array);
      });
    });
  }

  /**
   * Layers [0, end) on h. A batch norm followed by ReLU runs as one fused op; `quantized` is applied to
   * each output the device quantizes (not to those that fuse into the next layer).
   */
  private run(h: tf.Tensor, end: number, quantized?: (l: Layer, h: tf.Tensor) => tf.Tensor): tf.Tensor {
    const layers = this.model.layers;
    for (let i = 0; i < end; i++) {
      const reluFused = layers[i].kind === 'batchnorm' && i + 1 < end && layers[i + 1].kind === 'relu';
      h = this.layerForward(layers[i], h, reluFused);
      if (reluFused) i++;
      if (quantized && !fusesIntoPrevious(layers[i + 1])) h = quantized(layers[i], h);
    }
    return h;
  }

  private layerForward(l: Layer, h: tf.Tensor, reluFused = false): tf.Tensor {
    const v = this.vars.get(l.name);
    const kernel = () => {
      const bits = this.weightBits.get(l.name);
      return bits
        ? fakeQuantWeights(v!.kernel!, outChannels(l as Extract<Layer, { kernel: Float32Array }>), bits)
        : v!.kernel!;
    };
    const act = (t: tf.Tensor, a: string) => (a === 'relu' ? tf.relu(t) : t);
    const bias = (t: tf.Tensor) => (v?.bias ? tf.add(t, v.bias) : t);
    switch (l.kind) {
      case 'dense':
        return act(bias(tf.matMul(h as tf.Tensor2D, tf.reshape(kernel(), [-1, l.units]) as tf.Tensor2D)), l.activation);
      case 'conv2d':
        return act(bias(conv2d(h as tf.Tensor4D, kernel(), l.filters, windowOf(l))), l.activation);
      case 'depthwise_conv2d':
        return act(bias(depthwiseConv(h as tf.Tensor4D, kernel(), windowOf(l))), l.activation);
      case 'batchnorm':
        return batchNormFrozen(h, v!.gamma!, v!.beta!, l, reluFused);
      case 'relu':
        return tf.relu(h);
      case 'max_pool':
        return maxPool(h as tf.Tensor4D, { kh: l.poolSize[0], kw: l.poolSize[1], sh: l.strides[0], sw: l.strides[1] });
      case 'flatten':
        return tf.reshape(h, [h.shape[0], -1]);
    }
  }

  /** The current weights as a SeqModel (masks applied; fake quantization not baked in). */
  toModel(): SeqModel {
    const m = cloneModel(this.model);
    for (const l of m.layers) {
      const v = this.vars.get(l.name);
      if (!v) continue;
      if (isWeightLayer(l)) {
        l.kernel = Float32Array.from(v.kernel!.dataSync() as Float32Array);
        if (v.bias) l.bias = Float32Array.from(v.bias.dataSync() as Float32Array);
      } else if (l.kind === 'batchnorm') {
        l.gamma = Float32Array.from(v.gamma!.dataSync() as Float32Array);
        l.beta = Float32Array.from(v.beta!.dataSync() as Float32Array);
      }
    }
    return m;
  }

  dispose(): void {
    for (const v of this.trainableVariables()) v.dispose();
  }
}

let nextId = 0;

const windowOf = (l: {
  kernelSize: [number, number];
  strides: [number, number];
  padding: Window['padding'];
}): Window => ({ kh: l.kernelSize[0], kw: l.kernelSize[1], sh: l.strides[0], sw: l.strides[1], padding: l.padding });

/** Batch norm and ReLU after a layer fuse into it on the device, so its output is not quantized separately. */
const fusesIntoPrevious = (next: Layer | undefined) => next?.kind === 'batchnorm' || next?.kind === 'relu';
