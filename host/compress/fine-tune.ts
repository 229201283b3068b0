// The training loop every technique shares: Adam with a cosine learning-rate decay, seeded shuffles,
// cross-entropy or distillation loss, pruning masks re-applied after every step, a progress bar with ETA.

import * as tf from '@tensorflow/tfjs';
import { Progress } from '../util/progress';
import { Rng } from '../util/rng';
import { inputBatch, LabelledImages, shuffled } from './batches';
import { useFastMatMul } from './conv-im2col';
import { Distillation, distillationLoss } from './distill';
import { TrainableNet } from './net';

export interface TrainOptions {
  epochs: number;
  lr: number;
  seed: number;
  /** Progress bar label. */
  label: string;
  batch?: number;
  distill?: Distillation;
  /** Called before each step (e.g. to raise the pruning target on a schedule). */
  beforeStep?: (step: number, steps: number) => void;
  quiet?: boolean;
}

export interface TrainResult {
  /** Mean loss of the last epoch. */
  loss: number;
  seconds: number;
  imagesPerSec: number;
}

export function trainNet(net: TrainableNet, data: LabelledImages, opts: TrainOptions): TrainResult {
  useFastMatMul();
  const B = Math.min(opts.batch ?? 128, data.count);
  const steps = Math.floor(data.count / B);
  const total = opts.epochs * steps;
  const optimizer = tf.train.adam(opts.lr);
  const rng = new Rng(opts.seed);
  const vars = net.trainableVariables();
  let loss = 0;
  const start = Date.now();
  const classes = opts.distill ? opts.distill.teacherLogits.length / data.count : 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const perm = shuffled(data.count, rng);
    const bar = opts.quiet ? undefined : new Progress(`${opts.label} ${epoch + 1}/${opts.epochs}`, steps * B);
    let sum = 0;
    for (let s = 0; s < steps; s++) {
      const step = epoch * steps + s;
      opts.beforeStep?.(step, total);
      (optimizer as unknown as { learningRate: number }).learningRate = opts.lr * 0.5 * (1 + Math.cos((Math.PI * step) / total));
      const idx = perm.subarray(s * B, (s + 1) * B);
      const value = tf.tidy(() => {
        const x = inputBatch(data, idx, net.inputShape);
        const onehot = tf.oneHot(tf.tensor1d(Array.from(idx, (i) => data.labels[i]), 'int32'), 10) as tf.Tensor2D;
        const lossFn = (): tf.Scalar => {
          const logits = net.forward(x);
          if (!opts.distill) return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
          const t = new Float32Array(idx.length * classes);
          idx.forEach((i, k) => t.set(opts.distill!.teacherLogits.subarray(i * classes, (i + 1) * classes), k * classes));
          return distillationLoss(logits, tf.tensor2d(t, [idx.length, classes]), onehot, opts.distill!.alpha, opts.distill!.temperature);
        };
        const { value, grads } = tf.variableGrads(lossFn, vars);
        optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
        return value.dataSync()[0];
      });
      net.applyMasks();
      sum += value;
      if (bar) {
        bar.note = `loss ${(sum / (s + 1)).toFixed(4)}`;
        bar.tick(B);
      }
    }
    bar?.done();
    loss = sum / steps;
  }
  optimizer.dispose();
  const seconds = (Date.now() - start) / 1000;
  return { loss, seconds, imagesPerSec: seconds > 0 ? (total * B) / seconds : 0 };
}
