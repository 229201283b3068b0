// Trains the model zoo on Fashion-MNIST with TensorFlow.js (pure-JS CPU backend) and saves standard
// TF.js layers models (model.json + weights.bin) with metrics.json beside them.
//
//   npx tsx models/train.ts [mlp|cnn|conv1d|all] [--epochs N] [--limit N] [--out DIR] [--threads 1|2] [--seed N]
//
// Speed: the CPU backend's conv2d gradient and its generic element-wise/slice/max-pool-gradient kernels are
// far too slow to train a CNN here, so training does not go through tf.layers. Each network is written as a
// custom formulation over tf.Variables with the training kernels `morsel compress` fine-tunes with
// (host/compress/conv-im2col.ts): convolutions as im2col + tf.matMul, and fused batch-norm+ReLU, max-pool and
// depthwise convolution as tf.customGrad ops with plain typed-array loops. Gradients come from
// tf.variableGrads, updates from tf.train.adam. The learned weights are then copied into an ordinary
// tf.sequential model of standard layers (Conv2D, BatchNormalization, DepthwiseConv2D, ...), which is checked
// against the custom formulation, saved, loaded back from the written files and evaluated on the 10k test set.
//
// Reproducibility: weights are initialised from a seeded PRNG and each epoch's shuffle is seeded. Every batch
// is split into two fixed halves ("ghost batches", each with its own batch-norm statistics) whose gradients
// are averaged in a fixed order; with --threads 2 a worker thread computes the second half. The arithmetic is
// the same for 1 or 2 threads, so a given seed gives bit-identical weights either way.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isMainThread, parentPort, type Worker, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { range, shuffled } from '../host/compress/batches';
import {
  batchNormFrozen,
  batchNormReluTrain,
  conv2d,
  depthwiseConv,
  maxPool,
  useFastMatMul,
  type Window,
} from '../host/compress/conv-im2col';
import { type FashionMnist, loadFashionMnist } from '../host/data/fashion-mnist';
import { writeFileAtomic } from '../host/util/fs';
import { Progress } from '../host/util/progress';
import { Rng } from '../host/util/rng';
import { startWorker } from '../host/util/worker';

type Arch = 'mlp' | 'cnn' | 'conv1d';

interface TrainConfig {
  epochs: number;
  batch: number;
  lr: number;
}

const CONFIG: Record<Arch, TrainConfig> = {
  mlp: { epochs: 8, batch: 128, lr: 2e-3 },
  cnn: { epochs: 6, batch: 128, lr: 4e-3 },
  conv1d: { epochs: 4, batch: 128, lr: 4e-3 },
};

const DIR_NAME: Record<Arch, string> = { mlp: 'fashion_mlp', cnn: 'fashion_cnn', conv1d: 'fashion_conv1d' };
const BN_EPS = 1e-3;
const H = 28;
const W = 28;
const PIXELS = H * W;

// ---------------------------------------------------------------------------------------------------------
// Inputs and batch statistics

/** Pixels / 255 of images `idx`, one image after the other. */
function pixels(images: Uint8Array, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * PIXELS);
  for (let i = 0; i < idx.length; i++) {
    const base = idx[i] * PIXELS;
    for (let j = 0; j < PIXELS; j++) out[i * PIXELS + j] = images[base + j] / 255;
  }
  return out;
}

/** Batch statistics of one batch-norm layer, handed to an observer (population statistics). */
type StatsSink = (mean: Float64Array, variance: Float64Array, count: number) => void;

/** Mean and biased variance per channel of x [..., C], handed to `sink`. */
function batchStats(x: tf.Tensor, sink: StatsSink): void {
  const C = x.shape[x.shape.length - 1];
  const M = x.size / C;
  const xv = x.dataSync() as Float32Array;
  const mean = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let i = 0, p = 0; i < M; i++) {
    for (let c = 0; c < C; c++, p++) {
      mean[c] += xv[p];
      sq[c] += xv[p] * xv[p];
    }
  }
  for (let c = 0; c < C; c++) {
    mean[c] /= M;
    sq[c] = sq[c] / M - mean[c] * mean[c];
  }
  sink(mean, sq, M);
}

// ---------------------------------------------------------------------------------------------------------
// Networks: variables, training forward pass, inference forward pass, conversion to a tf.layers model

interface BnState {
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: Float32Array;
  variance: Float32Array;
}

abstract class Net {
  readonly vars: tf.Variable[] = [];
  readonly bns: BnState[] = [];
  constructor(
    readonly arch: Arch,
    protected readonly rng: Rng,
  ) {}

  /** Glorot-uniform (Keras' default) kernel; fanIn/fanOut as Keras computes them. */
  protected kernel(name: string, shape: number[], fanIn: number, fanOut: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = this.rng.uniform(-lim, lim);
    return this.add(name, tf.tensor(data, shape));
  }

  protected constant(name: string, shape: number[], value: number): tf.Variable {
    return this.add(name, tf.fill(shape, value));
  }

  protected bn(name: string, channels: number): BnState {
    const s = {
      gamma: this.constant(`${name}/gamma`, [channels], 1),
      beta: this.constant(`${name}/beta`, [channels], 0),
      mean: new Float32Array(channels),
      variance: new Float32Array(channels).fill(1),
    };
    this.bns.push(s);
    return s;
  }

  private add(name: string, t: tf.Tensor): tf.Variable {
    const v = tf.variable(t, true, `${this.arch}/${name}`);
    t.dispose();
    this.vars.push(v);
    return v;
  }

  /** Training-mode logits for train images `idx` (batch-norm uses this batch's statistics). */
  abstract forwardTrain(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D;
  /**
   * Inference-mode logits. With `statsFor = k`, stops at batch-norm layer k's input, hands its batch
   * statistics to `sink` and returns null (used to compute population statistics layer by layer).
   */
  abstract forwardInfer(
    images: Uint8Array,
    idx: ArrayLike<number>,
    statsFor?: number,
    sink?: StatsSink,
  ): tf.Tensor2D | null;
  abstract layersModel(): tf.Sequential;
  /** Human-readable layer list for metrics.json. */
  abstract describe(): string[];

  lossAndGrads(
    images: Uint8Array,
    labels: Uint8Array,
    idx: ArrayLike<number>,
  ): { loss: number; grads: Float32Array[] } {
    return tf.tidy(() => {
      const onehot = tf.oneHot(
        tf.tensor1d(
          Array.from(idx, (i) => labels[i]),
          'int32',
        ),
        10,
      );
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(onehot, this.forwardTrain(images, idx)) as tf.Scalar,
        this.vars,
      );
      return { loss: value.dataSync()[0], grads: this.vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    });
  }

  getWeights(): Float32Array[] {
    return this.vars.map((v) => v.dataSync() as Float32Array);
  }

  setWeights(ws: Float32Array[]): void {
    this.vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(ws[i], v.shape))));
  }

  /** Logits of a set of images in inference mode, in chunks. */
  logits(images: Uint8Array, idx: ArrayLike<number>, chunk = 500): Float32Array {
    const out = new Float32Array(idx.length * 10);
    for (let s = 0; s < idx.length; s += chunk) {
      const part = Array.from({ length: Math.min(chunk, idx.length - s) }, (_, k) => idx[s + k]);
      out.set(
        tf.tidy(() => this.forwardInfer(images, part)!.dataSync() as Float32Array),
        s * 10,
      );
    }
    return out;
  }

  /**
   * Population ("precise") batch-norm statistics: for each batch-norm layer in turn, the mean and biased
   * variance of its input over `idx` with all earlier layers already in inference mode.
   */
  calibrateBatchNorm(images: Uint8Array, idx: ArrayLike<number>, chunk = 500): void {
    this.bns.forEach((bn, k) => {
      const C = bn.mean.length;
      const sum = new Float64Array(C);
      const sumSq = new Float64Array(C);
      let count = 0;
      const sink: StatsSink = (m, v, n) => {
        for (let c = 0; c < C; c++) {
          sum[c] += m[c] * n;
          sumSq[c] += (v[c] + m[c] * m[c]) * n;
        }
        count += n;
      };
      for (let s = 0; s < idx.length; s += chunk) {
        const part = Array.from({ length: Math.min(chunk, idx.length - s) }, (_, j) => idx[s + j]);
        tf.tidy(() => void this.forwardInfer(images, part, k, sink));
      }
      for (let c = 0; c < C; c++) {
        const m = sum[c] / count;
        bn.mean[c] = m;
        bn.variance[c] = Math.max(0, sumSq[c] / count - m * m);
      }
    });
  }

  /** Applies batch-norm k in inference mode, or reports its input statistics if k === statsFor. */
  protected bnInfer(k: number, x: tf.Tensor, statsFor?: number, sink?: StatsSink): tf.Tensor | null {
    if (k === statsFor) {
      batchStats(x, sink!);
      return null;
    }
    const bn = this.bns[k];
    return batchNormFrozen(x, bn.gamma, bn.beta, { mean: bn.mean, variance: bn.variance, epsilon: BN_EPS }, true);
  }
}

/** 784 → Dense(128, relu) → Dense(10) logits. */
class Mlp extends Net {
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;
  static readonly HIDDEN = 128;

  constructor(rng: Rng) {
    super('mlp', rng);
    const h = Mlp.HIDDEN;
    this.w1 = this.kernel('fc1/kernel', [PIXELS, h], PIXELS, h);
    this.b1 = this.constant('fc1/bias', [h], 0);
    this.w2 = this.kernel('logits/kernel', [h, 10], h, 10);
    this.b2 = this.constant('logits/bias', [10], 0);
  }

  private forward(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D {
    const x = tf.tensor2d(pixels(images, idx), [idx.length, PIXELS]);
    const h = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)) as tf.Tensor2D;
    return tf.add(tf.matMul(h, this.w2), this.b2) as tf.Tensor2D;
  }

  forwardTrain(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D {
    return this.forward(images, idx);
  }

  forwardInfer(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D {
    return this.forward(images, idx);
  }

  layersModel(): tf.Sequential {
    const m = tf.sequential({ name: 'fashion_mlp' });
    m.add(tf.layers.dense({ name: 'fc1', inputShape: [PIXELS], units: Mlp.HIDDEN, activation: 'relu' }));
    m.add(tf.layers.dense({ name: 'logits', units: 10 }));
    m.getLayer('fc1').setWeights([this.w1, this.b1]);
    m.getLayer('logits').setWeights([this.w2, this.b2]);
    return m;
  }

  describe(): string[] {
    return ['Input [784] (28×28 pixels / 255, row-major)', `Dense(${Mlp.HIDDEN}, relu)`, 'Dense(10) → logits'];
  }
}

const CONV1: Window = { kh: 3, kw: 3, sh: 1, sw: 1, padding: 'valid' };
const DWCONV2: Window = { kh: 3, kw: 3, sh: 1, sw: 1, padding: 'same' };
const PWCONV3: Window = { kh: 1, kw: 1, sh: 1, sw: 1, padding: 'valid' };
const POOL = { kh: 2, kw: 2, sh: 2, sw: 2 };

/**
 * [28,28,1] → Conv2D(16, 3×3, valid, no bias) → BN → ReLU → MaxPool 2×2 → [13,13,16]
 *           → DepthwiseConv2D(3×3, same, no bias) → BN → ReLU
 *           → Conv2D(32, 1×1, no bias) → BN → ReLU → MaxPool 2×2 → [6,6,32]
 *           → Flatten(1152) → Dense(40, relu) → Dense(10) logits
 */
class Cnn extends Net {
  static readonly C1 = 16;
  static readonly C3 = 32;
  static readonly HIDDEN = 40;
  private readonly k1: tf.Variable;
  private readonly dw: tf.Variable;
  private readonly pw: tf.Variable;
  private readonly w4: tf.Variable;
  private readonly b4: tf.Variable;
  private readonly w5: tf.Variable;
  private readonly b5: tf.Variable;

  constructor(rng: Rng) {
    super('cnn', rng);
    const { C1, C3, HIDDEN } = Cnn;
    this.k1 = this.kernel('conv1/kernel', [9, C1], 9, 9 * C1); // = [3,3,1,C1] flattened over (kh, kw, in)
    this.bn('bn1', C1);
    this.dw = this.kernel('dwconv2/depthwise_kernel', [3, 3, C1, 1], 9, 9);
    this.bn('bn2', C1);
    this.pw = this.kernel('pwconv3/kernel', [C1, C3], C1, C3); // = [1,1,C1,C3]
    this.bn('bn3', C3);
    this.w4 = this.kernel('fc4/kernel', [6 * 6 * C3, HIDDEN], 6 * 6 * C3, HIDDEN);
    this.b4 = this.constant('fc4/bias', [HIDDEN], 0);
    this.w5 = this.kernel('logits/kernel', [HIDDEN, 10], HIDDEN, 10);
    this.b5 = this.constant('logits/bias', [10], 0);
  }

  private head(p3: tf.Tensor4D): tf.Tensor2D {
    const n = p3.shape[0];
    const f = tf.reshape(p3, [n, 6 * 6 * Cnn.C3]) as tf.Tensor2D; // NHWC flatten order, as Flatten does
    const h = tf.relu(tf.add(tf.matMul(f, this.w4), this.b4)) as tf.Tensor2D;
    return tf.add(tf.matMul(h, this.w5), this.b5) as tf.Tensor2D;
  }

  forwardTrain(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D {
    const n = idx.length;
    const { C1, C3 } = Cnn;
    const [bn1, bn2, bn3] = this.bns;
    const x = tf.tensor4d(pixels(images, idx), [n, H, W, 1]);
    const a1 = batchNormReluTrain(conv2d(x, this.k1, C1, CONV1), bn1.gamma, bn1.beta, BN_EPS) as tf.Tensor4D;
    const a2 = batchNormReluTrain(
      depthwiseConv(maxPool(a1, POOL), this.dw, DWCONV2),
      bn2.gamma,
      bn2.beta,
      BN_EPS,
    ) as tf.Tensor4D;
    const a3 = batchNormReluTrain(conv2d(a2, this.pw, C3, PWCONV3), bn3.gamma, bn3.beta, BN_EPS) as tf.Tensor4D;
    return this.head(maxPool(a3, POOL));
  }

  forwardInfer(images: Uint8Array, idx: ArrayLike<number>, statsFor?: number, sink?: StatsSink): tf.Tensor2D | null {
    const n = idx.length;
    const { C1, C3 } = Cnn;
    const x = tf.tensor4d(pixels(images, idx), [n, H, W, 1]);
    const a1 = this.bnInfer(0, conv2d(x, this.k1, C1, CONV1), statsFor, sink) as tf.Tensor4D | null;
    if (!a1) return null;
    const a2 = this.bnInfer(
      1,
      depthwiseConv(maxPool(a1, POOL), this.dw, DWCONV2),
      statsFor,
      sink,
    ) as tf.Tensor4D | null;
    if (!a2) return null;
    const a3 = this.bnInfer(2, conv2d(a2, this.pw, C3, PWCONV3), statsFor, sink) as tf.Tensor4D | null;
    if (!a3) return null;
    return this.head(maxPool(a3, POOL));
  }

  layersModel(): tf.Sequential {
    const { C1, C3, HIDDEN } = Cnn;
    const m = tf.sequential({ name: 'fashion_cnn' });
    const bnLayer = (name: string) => tf.layers.batchNormalization({ name, axis: -1, epsilon: BN_EPS, momentum: 0.99 });
    const relu = (name: string) => tf.layers.activation({ name, activation: 'relu' });
    m.add(
      tf.layers.conv2d({
        name: 'conv1',
        inputShape: [H, W, 1],
        filters: C1,
        kernelSize: 3,
        padding: 'valid',
        useBias: false,
      }),
    );
    m.add(bnLayer('bn1'));
    m.add(relu('relu1'));
    m.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2, padding: 'valid' }));
    m.add(
      tf.layers.depthwiseConv2d({
        name: 'dwconv2',
        kernelSize: 3,
        depthMultiplier: 1,
        padding: 'same',
        useBias: false,
      }),
    );
    m.add(bnLayer('bn2'));
    m.add(relu('relu2'));
    m.add(tf.layers.conv2d({ name: 'pwconv3', filters: C3, kernelSize: 1, padding: 'valid', useBias: false }));
    m.add(bnLayer('bn3'));
    m.add(relu('relu3'));
    m.add(tf.layers.maxPooling2d({ name: 'pool3', poolSize: 2, strides: 2, padding: 'valid' }));
    m.add(tf.layers.flatten({ name: 'flatten' }));
    m.add(tf.layers.dense({ name: 'fc4', units: HIDDEN, activation: 'relu' }));
    m.add(tf.layers.dense({ name: 'logits', units: 10 }));
    tf.tidy(() => {
      m.getLayer('conv1').setWeights([tf.reshape(this.k1, [3, 3, 1, C1])]);
      m.getLayer('dwconv2').setWeights([this.dw]);
      m.getLayer('pwconv3').setWeights([tf.reshape(this.pw, [1, 1, C1, C3])]);
      this.bns.forEach((bn, k) => {
        m.getLayer(`bn${k + 1}`).setWeights([bn.gamma, bn.beta, tf.tensor1d(bn.mean), tf.tensor1d(bn.variance)]);
      });
      m.getLayer('fc4').setWeights([this.w4, this.b4]);
      m.getLayer('logits').setWeights([this.w5, this.b5]);
    });
    return m;
  }

  describe(): string[] {
    const { C1, C3, HIDDEN } = Cnn;
    return [
      'Input [28,28,1] NHWC (pixels / 255)',
      `Conv2D(${C1}, 3×3, valid, no bias) → BatchNormalization → ReLU → MaxPooling2D(2×2) → [13,13,${C1}]`,
      'DepthwiseConv2D(3×3, same, no bias) → BatchNormalization → ReLU',
      `Conv2D(${C3}, 1×1, no bias) → BatchNormalization → ReLU → MaxPooling2D(2×2) → [6,6,${C3}]`,
      `Flatten(${36 * C3}) → Dense(${HIDDEN}, relu) → Dense(10) → logits`,
    ];
  }
}

const CONV1D_1: Window = { kh: 1, kw: 3, sh: 1, sw: 1, padding: 'valid' };
const CONV1D_2: Window = { kh: 1, kw: 3, sh: 1, sw: 1, padding: 'same' };
const POOL1D = { kh: 1, kw: 2, sh: 1, sw: 2 };

/**
 * The image's rows as a sequence of 28 steps of 28 channels (as an IMU or audio model sees its signal), run as
 * NHWC with H = 1, as TFLM runs Conv1D:
 * [28,28] → Conv1D(32, 3, valid, no bias) → BN → ReLU → MaxPool1D(2) → [13,32]
 *         → Conv1D(32, 3, same, no bias) → BN → ReLU → MaxPool1D(2) → [6,32]
 *         → Flatten(192) → Dense(32, relu) → Dense(10) logits
 */
class Conv1d extends Net {
  static readonly C = 32;
  static readonly HIDDEN = 32;
  private readonly k1: tf.Variable;
  private readonly k2: tf.Variable;
  private readonly w3: tf.Variable;
  private readonly b3: tf.Variable;
  private readonly w4: tf.Variable;
  private readonly b4: tf.Variable;

  constructor(rng: Rng) {
    super('conv1d', rng);
    const { C, HIDDEN } = Conv1d;
    this.k1 = this.kernel('conv1/kernel', [3 * W, C], 3 * W, 3 * C); // = [3, 28, C] flattened over (k, in)
    this.bn('bn1', C);
    this.k2 = this.kernel('conv2/kernel', [3 * C, C], 3 * C, 3 * C);
    this.bn('bn2', C);
    this.w3 = this.kernel('fc3/kernel', [6 * C, HIDDEN], 6 * C, HIDDEN);
    this.b3 = this.constant('fc3/bias', [HIDDEN], 0);
    this.w4 = this.kernel('logits/kernel', [HIDDEN, 10], HIDDEN, 10);
    this.b4 = this.constant('logits/bias', [10], 0);
  }

  /** Rows as steps: [n, 1, 28 steps, 28 channels], the pixels' own row-major order. */
  private sequence(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor4D {
    return tf.tensor4d(pixels(images, idx), [idx.length, 1, H, W]);
  }

  private head(p2: tf.Tensor4D): tf.Tensor2D {
    const f = tf.reshape(p2, [p2.shape[0], 6 * Conv1d.C]) as tf.Tensor2D; // (step, channel) order, as Flatten does
    const h = tf.relu(tf.add(tf.matMul(f, this.w3), this.b3)) as tf.Tensor2D;
    return tf.add(tf.matMul(h, this.w4), this.b4) as tf.Tensor2D;
  }

  forwardTrain(images: Uint8Array, idx: ArrayLike<number>): tf.Tensor2D {
    const [bn1, bn2] = this.bns;
    const a1 = batchNormReluTrain(
      conv2d(this.sequence(images, idx), this.k1, Conv1d.C, CONV1D_1),
      bn1.gamma,
      bn1.beta,
      BN_EPS,
    ) as tf.Tensor4D;
    const a2 = batchNormReluTrain(
      conv2d(maxPool(a1, POOL1D), this.k2, Conv1d.C, CONV1D_2),
      bn2.gamma,
      bn2.beta,
      BN_EPS,
    ) as tf.Tensor4D;
    return this.head(maxPool(a2, POOL1D));
  }

  forwardInfer(images: Uint8Array, idx: ArrayLike<number>, statsFor?: number, sink?: StatsSink): tf.Tensor2D | null {
    const x = this.sequence(images, idx);
    const a1 = this.bnInfer(0, conv2d(x, this.k1, Conv1d.C, CONV1D_1), statsFor, sink) as tf.Tensor4D | null;
    if (!a1) return null;
    const a2 = this.bnInfer(1, conv2d(maxPool(a1, POOL1D), this.k2, Conv1d.C, CONV1D_2), statsFor, sink);
    if (!a2) return null;
    return this.head(maxPool(a2 as tf.Tensor4D, POOL1D));
  }

  layersModel(): tf.Sequential {
    const { C, HIDDEN } = Conv1d;
    const m = tf.sequential({ name: 'fashion_conv1d' });
    const bnLayer = (name: string) => tf.layers.batchNormalization({ name, axis: -1, epsilon: BN_EPS, momentum: 0.99 });
    const relu = (name: string) => tf.layers.activation({ name, activation: 'relu' });
    const pool = (name: string) => tf.layers.maxPooling1d({ name, poolSize: 2, strides: 2, padding: 'valid' });
    m.add(tf.layers.conv1d({ name: 'conv1', inputShape: [H, W], filters: C, kernelSize: 3, useBias: false }));
    m.add(bnLayer('bn1'));
    m.add(relu('relu1'));
    m.add(pool('pool1'));
    m.add(tf.layers.conv1d({ name: 'conv2', filters: C, kernelSize: 3, padding: 'same', useBias: false }));
    m.add(bnLayer('bn2'));
    m.add(relu('relu2'));
    m.add(pool('pool2'));
    m.add(tf.layers.flatten({ name: 'flatten' }));
    m.add(tf.layers.dense({ name: 'fc3', units: HIDDEN, activation: 'relu' }));
    m.add(tf.layers.dense({ name: 'logits', units: 10 }));
    tf.tidy(() => {
      m.getLayer('conv1').setWeights([tf.reshape(this.k1, [3, W, C])]);
      m.getLayer('conv2').setWeights([tf.reshape(this.k2, [3, C, C])]);
      this.bns.forEach((bn, k) => {
        m.getLayer(`bn${k + 1}`).setWeights([bn.gamma, bn.beta, tf.tensor1d(bn.mean), tf.tensor1d(bn.variance)]);
      });
      m.getLayer('fc3').setWeights([this.w3, this.b3]);
      m.getLayer('logits').setWeights([this.w4, this.b4]);
    });
    return m;
  }

  describe(): string[] {
    const { C, HIDDEN } = Conv1d;
    return [
      'Input [28,28]: 28 steps (image rows) × 28 channels (pixels / 255)',
      `Conv1D(${C}, 3, valid, no bias) → BatchNormalization → ReLU → MaxPooling1D(2) → [13,${C}]`,
      `Conv1D(${C}, 3, same, no bias) → BatchNormalization → ReLU → MaxPooling1D(2) → [6,${C}]`,
      `Flatten(${6 * C}) → Dense(${HIDDEN}, relu) → Dense(10) → logits`,
    ];
  }
}

function makeNet(arch: Arch, seed: number): Net {
  const rng = new Rng(seed);
  if (arch === 'conv1d') return new Conv1d(rng);
  return arch === 'mlp' ? new Mlp(rng) : new Cnn(rng);
}

// ---------------------------------------------------------------------------------------------------------
// Data-parallel helper: a worker thread computing the second half of each batch

interface WorkerInit {
  arch: Arch;
  limit?: number;
}
interface StepRequest {
  weights: Float32Array[];
  idx: Int32Array;
}
interface StepReply {
  loss: number;
  grads: Float32Array[];
}

async function workerMain(): Promise<void> {
  tf.enableProdMode(); // also silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  useFastMatMul();
  const { arch, limit } = workerData as WorkerInit;
  const train = loadFashionMnist('train', limit);
  const net = makeNet(arch, 0);
  parentPort!.on('message', (msg: StepRequest | 'exit') => {
    if (msg === 'exit') {
      process.exit(0);
    }
    net.setWeights(msg.weights);
    const reply: StepReply = net.lossAndGrads(train.images, train.labels, msg.idx);
    parentPort!.postMessage(reply);
  });
}

class Helper {
  private readonly worker: Worker;
  private pending: { resolve: (r: StepReply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closing = false;

  constructor(init: WorkerInit) {
    this.worker = startWorker(__filename, { workerData: init });
    this.worker.on('message', (r: StepReply) => this.settle((p) => p.resolve(r)));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`training worker exited with code ${code}`));
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.settle((p) => p.reject(e));
  }

  private settle(f: (p: NonNullable<Helper['pending']>) => void): void {
    const p = this.pending;
    this.pending = null;
    if (p) f(p);
  }

  step(req: StepRequest): Promise<StepReply> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending = { resolve, reject };
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('exit');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Training, verification, saving

function accuracy(logits: Float32Array, labels: ArrayLike<number>, count: number): number {
  let ok = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
    if (best === labels[i]) ok++;
  }
  return ok / count;
}

function countParams(m: tf.LayersModel): { total: number; trainable: number } {
  const count = (ws: tf.LayerVariable[]) =>
    ws.reduce((a, w) => a + (w.shape as number[]).reduce((x, y) => x * y, 1), 0);
  return { total: count(m.weights), trainable: count(m.trainableWeights) };
}

function toInput(arch: Arch, images: Uint8Array, start: number, n: number): tf.Tensor {
  const x = pixels(
    images,
    range(n).map((i) => start + i),
  );
  if (arch === 'conv1d') return tf.tensor3d(x, [n, H, W]);
  return arch === 'mlp' ? tf.tensor2d(x, [n, PIXELS]) : tf.tensor4d(x, [n, H, W, 1]);
}

async function predictLayers(
  m: tf.LayersModel,
  arch: Arch,
  images: Uint8Array,
  count: number,
  chunk = 1000,
): Promise<Float32Array> {
  const out = new Float32Array(count * 10);
  for (let s = 0; s < count; s += chunk) {
    const n = Math.min(chunk, count - s);
    const y = tf.tidy(() => m.predict(toInput(arch, images, s, n)) as tf.Tensor);
    out.set(await y.data(), s * 10);
    y.dispose();
  }
  return out;
}

interface SavedFiles {
  modelJson: object;
  weights: Uint8Array;
}

/** A layers model as TF.js saves it: model.json's object and weights.bin's bytes. */
async function serialize(m: tf.LayersModel): Promise<SavedFiles> {
  let files: SavedFiles | undefined;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
      files = {
        modelJson: {
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
          convertedBy: null,
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        },
        weights,
      };
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength },
      };
    }),
  );
  return files!;
}

/** Writes DIR/model.json and DIR/weights.bin (each atomically); returns the model.json path. */
export async function writeLayersModel(m: tf.LayersModel, dir: string): Promise<string> {
  const files = await serialize(m);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, 'weights.bin'), files.weights);
  const json = path.join(dir, 'model.json');
  writeFileAtomic(json, JSON.stringify(files.modelJson) + '\n');
  return json;
}

async function loadSaved(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }),
  );
}

interface Options {
  epochs?: number;
  limit?: number;
  out: string;
  threads: number;
  seed: number;
}

async function trainOne(arch: Arch, opts: Options, train: FashionMnist, test: FashionMnist): Promise<void> {
  const cfg = CONFIG[arch];
  const epochs = opts.epochs ?? cfg.epochs;
  const B = cfg.batch;
  const half = B / 2;
  const steps = Math.floor(train.count / B);
  if (steps < 1) throw new Error(`--limit leaves ${train.count} training images, fewer than one batch of ${B}`);
  const tStart = Date.now();
  const net = makeNet(arch, opts.seed);
  const optimizer = tf.train.adam(cfg.lr);
  const shuffleRng = new Rng(opts.seed ^ 0x9e3779b9);
  const helper = opts.threads > 1 ? new Helper({ arch, limit: opts.limit }) : null;
  const monitorTest = range(Math.min(2000, test.count));
  const monitorCal = range(Math.min(2048, train.count));
  const history: { epoch: number; loss: number; testAcc2k: number; seconds: number }[] = [];
  let trainSeconds = 0;
  console.error(`${arch}: ${net.describe().join(' | ')}`);
  console.error(
    `${arch}: ${epochs} epochs × ${steps} steps of ${B} (2 ghost batches of ${half}), Adam lr ${cfg.lr} cosine, seed ${opts.seed}, ${opts.threads} thread(s)`,
  );
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = shuffled(train.count, shuffleRng);
      const bar = new Progress(`${arch} epoch ${epoch + 1}/${epochs}`, steps * B);
      let lossSum = 0;
      for (let s = 0; s < steps; s++) {
        const t = (epoch * steps + s) / (epochs * steps);
        (optimizer as unknown as { learningRate: number }).learningRate = cfg.lr * 0.5 * (1 + Math.cos(Math.PI * t));
        const a = perm.subarray(s * B, s * B + half);
        const b = perm.slice(s * B + half, (s + 1) * B);
        const remote = helper?.step({ weights: net.getWeights(), idx: b });
        const ra = net.lossAndGrads(train.images, train.labels, a);
        const rb = remote ? await remote : net.lossAndGrads(train.images, train.labels, b);
        tf.tidy(() => {
          const grads = net.vars.map((v, i) => {
            const g = new Float32Array(ra.grads[i].length);
            for (let j = 0; j < g.length; j++) g[j] = (ra.grads[i][j] + rb.grads[i][j]) * 0.5;
            return { name: v.name, tensor: tf.tensor(g, v.shape) };
          });
          optimizer.applyGradients(grads);
        });
        const loss = (ra.loss + rb.loss) / 2;
        lossSum += loss;
        bar.note = `loss ${(lossSum / (s + 1)).toFixed(4)}`;
        bar.tick(B);
      }
      const secs = bar.done();
      trainSeconds += secs;
      net.calibrateBatchNorm(train.images, monitorCal);
      const acc = accuracy(net.logits(test.images, monitorTest), test.labels, monitorTest.length);
      history.push({
        epoch: epoch + 1,
        loss: +(lossSum / steps).toFixed(5),
        testAcc2k: +acc.toFixed(4),
        seconds: +secs.toFixed(1),
      });
      console.error(
        `${arch} epoch ${epoch + 1}: loss ${(lossSum / steps).toFixed(4)}, test accuracy (first ${monitorTest.length}) ${(100 * acc).toFixed(2)}%`,
      );
    }
  } finally {
    await helper?.close();
  }
  const imagesPerSec = (epochs * steps * B) / trainSeconds;

  // Final batch-norm statistics over (up to) 20k training images, then the layers model.
  const calCount = Math.min(20000, train.count);
  net.calibrateBatchNorm(train.images, range(calCount));
  const model = net.layersModel();
  const params = countParams(model);
  const verifyN = Math.min(1000, test.count);
  const custom = net.logits(test.images, range(verifyN));
  const layered = await predictLayers(model, arch, test.images, verifyN);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < custom.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(custom[i] - layered[i]));
    maxAbs = Math.max(maxAbs, Math.abs(custom[i]));
  }
  console.error(
    `${arch}: layers model vs custom formulation on ${verifyN} test images: max |Δlogit| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(1)})`,
  );
  if (!(maxDiff <= 1e-3 * Math.max(1, maxAbs)))
    throw new Error(`${arch}: the layers model disagrees with the trained formulation (max |Δlogit| ${maxDiff})`);

  const dir = path.join(opts.out, DIR_NAME[arch]);
  await writeLayersModel(model, dir);

  // Evaluate what was written: load the files back and run the full test set.
  const reloaded = await loadSaved(dir);
  const t0 = Date.now();
  const logits = await predictLayers(reloaded, arch, test.images, test.count);
  const evalSecs = (Date.now() - t0) / 1000;
  let reloadDiff = 0;
  for (let i = 0; i < layered.length; i++) reloadDiff = Math.max(reloadDiff, Math.abs(layered[i] - logits[i]));
  if (reloadDiff !== 0)
    throw new Error(`${arch}: the reloaded model differs from the saved one (max |Δlogit| ${reloadDiff})`);
  const testAcc = accuracy(logits, test.labels, test.count);
  const perClass = range(10).map((c) => {
    let n = 0;
    let ok = 0;
    for (let i = 0; i < test.count; i++) {
      if (test.labels[i] !== c) continue;
      n++;
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
      if (best === c) ok++;
    }
    return n ? +(ok / n).toFixed(4) : null;
  });
  reloaded.dispose();
  model.dispose();

  const metrics = {
    model: DIR_NAME[arch],
    dataset: 'Fashion-MNIST',
    input:
      arch === 'mlp'
        ? { shape: [1, PIXELS], scale: '1/255', range: [0, 1] }
        : arch === 'conv1d'
          ? { shape: [1, H, W], layout: 'NWC (image rows as 28 steps of 28 channels)', scale: '1/255', range: [0, 1] }
          : { shape: [1, H, W, 1], layout: 'NHWC', scale: '1/255', range: [0, 1] },
    output: 'logits [1, 10] (no softmax)',
    architecture: net.describe(),
    params: params.total,
    trainableParams: params.trainable,
    floatTestAccuracy: +testAcc.toFixed(4),
    testImages: test.count,
    perClassTestAccuracy: perClass,
    epochs,
    batchSize: B,
    ghostBatchSize: half,
    optimizer: { name: 'adam', learningRate: cfg.lr, schedule: 'cosine to 0 per step' },
    seed: opts.seed,
    trainImages: train.count,
    trainImagesPerSec: Math.round(imagesPerSec),
    trainSeconds: +trainSeconds.toFixed(1),
    totalSeconds: +((Date.now() - tStart) / 1000).toFixed(1),
    threads: opts.threads,
    batchNormStatistics: arch !== 'mlp' ? `population mean/variance over ${calCount} training images` : undefined,
    verifyMaxAbsLogitDiff: maxDiff,
    evalSecondsLayersModel: +evalSecs.toFixed(1),
    history,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
  };
  writeFileAtomic(path.join(dir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  console.error(
    `${arch}: ${params.total} params, float test accuracy ${(100 * testAcc).toFixed(2)}% (${test.count} images), ` +
      `${Math.round(imagesPerSec)} images/s, training ${trainSeconds.toFixed(0)} s → ${dir}`,
  );
  net.vars.forEach((v) => v.dispose());
  optimizer.dispose();
}

function repoRoot(): string {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json'))) {
    const up = path.dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
  return d;
}

const USAGE =
  'usage: npx tsx models/train.ts [mlp|cnn|conv1d|all] [--epochs N] [--limit N] [--out DIR] [--threads 1|2] [--seed N]';

function parseCli(argv: string[]): { archs: Arch[]; opts: Options } {
  let which = 'all';
  const opts: Options = {
    out: path.join(repoRoot(), 'models'),
    threads: Math.min(2, os.cpus().length),
    seed: 20240917,
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--epochs') opts.epochs = int(a, argv[++i], 1);
    else if (a === '--limit') opts.limit = int(a, argv[++i], 1);
    else if (a === '--threads') opts.threads = Math.min(2, int(a, argv[++i], 1));
    else if (a === '--seed') opts.seed = int(a, argv[++i], 0);
    else if (a === '--out') opts.out = path.resolve(argv[++i] ?? '.');
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (!a.startsWith('-') && ['mlp', 'cnn', 'conv1d', 'all'].includes(a)) which = a;
    else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  return { archs: which === 'all' ? ['mlp', 'cnn', 'conv1d'] : [which as Arch], opts };
}

async function main(): Promise<void> {
  const { archs, opts } = parseCli(process.argv.slice(2));
  tf.enableProdMode(); // also silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  useFastMatMul();
  const train = loadFashionMnist('train', opts.limit);
  const test = loadFashionMnist('test');
  console.error(
    `Fashion-MNIST: ${train.count} training, ${test.count} test images; TF.js ${tf.version.tfjs} (${tf.getBackend()})`,
  );
  for (const arch of archs) await trainOne(arch, opts, train, test);
}

// A worker runs its share of training; the main thread trains when run as a script (tools import writeLayersModel).
if (isMainThread && require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
} else if (!isMainThread) {
  workerMain().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
