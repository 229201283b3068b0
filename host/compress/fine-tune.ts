// The training loop every technique shares: Adam with a cosine learning-rate decay, seeded shuffles,
// cross-entropy or distillation loss, pruning masks re-applied after every step, a progress bar with ETA.
// With two threads a worker (fine-tune-worker.ts) computes the gradient of the second half of every batch
// while this thread computes the first; their mean is the batch's gradient up to rounding, since batch norms
// keep fixed statistics while fine-tuning. The main thread blocks on a shared flag for the worker's answer,
// so training stays one synchronous call.

import * as path from 'path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../ir/graph';
import { Progress } from '../util/progress';
import { Rng } from '../util/rng';
import { startWorker } from '../util/worker';
import { inputBatch, type LabelledImages, shuffled } from './batches';
import { useFastMatMul } from './conv-im2col';
import { type Distillation, distillationLoss } from './distill';
import type { TrainableNet } from './net';
import type { SeqModel } from './seq-model';

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
  /** 1 (default) or 2: a worker thread computes half of every batch's gradient. */
  threads?: number;
  quiet?: boolean;
}

export interface TrainResult {
  /** Mean loss of the last epoch. */
  loss: number;
  seconds: number;
  imagesPerSec: number;
}

/** The training loss of images `idx`: cross-entropy with their labels, or distillation from the teacher's logits. */
export function batchLoss(
  net: TrainableNet,
  data: LabelledImages,
  idx: ArrayLike<number>,
  distill?: Distillation,
): tf.Scalar {
  const x = inputBatch(data, idx, net.inputShape);
  const onehot = tf.oneHot(
    tf.tensor1d(
      Array.from(idx, (i) => data.labels[i]),
      'int32',
    ),
    10,
  ) as tf.Tensor2D;
  const logits = net.forward(x);
  if (!distill) return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  const classes = distill.teacherLogits.length / data.count;
  const t = new Float32Array(idx.length * classes);
  for (let k = 0; k < idx.length; k++)
    t.set(distill.teacherLogits.subarray(idx[k] * classes, (idx[k] + 1) * classes), k * classes);
  return distillationLoss(logits, tf.tensor2d(t, [idx.length, classes]), onehot, distill.alpha, distill.temperature);
}

/** Loss and gradients (in trainableVariables() order) of images `idx`. */
export function lossAndGrads(
  net: TrainableNet,
  data: LabelledImages,
  idx: ArrayLike<number>,
  distill?: Distillation,
): { loss: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const vars = net.trainableVariables();
    const { value, grads } = tf.variableGrads(() => batchLoss(net, data, idx, distill), vars);
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
  });
}

export function trainNet(net: TrainableNet, data: LabelledImages, opts: TrainOptions): TrainResult {
  useFastMatMul();
  const B = Math.min(opts.batch ?? 128, data.count);
  const threads = opts.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new ModelError(`fine-tuning runs on 1 or 2 threads, not ${threads}`);
  const helper = threads === 2 && B >= 2 ? new GradientHelper(net, data, opts.distill) : undefined;
  const steps = Math.floor(data.count / B);
  const total = opts.epochs * steps;
  const optimizer = tf.train.adam(opts.lr);
  const rng = new Rng(opts.seed);
  const vars = net.trainableVariables();
  let loss = 0;
  const start = Date.now();
  const bar = opts.quiet ? undefined : new Progress(opts.label, total * B);
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const perm = shuffled(data.count, rng);
      let sum = 0;
      for (let s = 0; s < steps; s++) {
        const step = epoch * steps + s;
        opts.beforeStep?.(step, total);
        (optimizer as unknown as { learningRate: number }).learningRate =
          opts.lr * 0.5 * (1 + Math.cos((Math.PI * step) / total));
        const idx = perm.subarray(s * B, (s + 1) * B);
        let value: number;
        if (helper) {
          const half = idx.length >> 1;
          helper.start(idx.slice(half));
          const mine = lossAndGrads(net, data, idx.subarray(0, half), opts.distill);
          const theirs = helper.result();
          value = (mine.loss + theirs.loss) / 2;
          tf.tidy(() =>
            optimizer.applyGradients(
              vars.map((v, i) => {
                const g = new Float32Array(mine.grads[i].length);
                for (let j = 0; j < g.length; j++) g[j] = (mine.grads[i][j] + theirs.grads[i][j]) * 0.5;
                return { name: v.name, tensor: tf.tensor(g, v.shape) };
              }),
            ),
          );
        } else {
          value = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => batchLoss(net, data, idx, opts.distill), vars);
            optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
            return value.dataSync()[0];
          });
        }
        net.applyMasks();
        sum += value;
        if (bar) {
          bar.note = `epoch ${epoch + 1}/${opts.epochs}, loss ${(sum / (s + 1)).toFixed(4)}`;
          bar.tick(B);
        }
      }
      loss = sum / steps;
    }
    bar?.done();
  } finally {
    helper?.close();
    optimizer.dispose();
  }
  const seconds = (Date.now() - start) / 1000;
  return { loss, seconds, imagesPerSec: seconds > 0 ? (total * B) / seconds : 0 };
}

/** What the worker needs: the net (its fixed parts), the data and the teacher's logits in shared memory. */
export interface HelperInit {
  model: SeqModel;
  weightBits: [string, number][];
  activationRanges: [string, [number, number]][];
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  distill?: Distillation;
  /** [0] becomes 1 when an answer is waiting on `port`. */
  signal: Int32Array;
  port: MessagePort;
}

export interface HelperRequest {
  weights: Float32Array[];
  idx: Int32Array;
}
export type HelperAnswer = { loss: number; grads: Float32Array[] } | { error: string };

const shared = <T extends Uint8Array | Float32Array>(a: T): T => {
  const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
};

/** The worker thread computing half of every batch's gradient with the current weights. */
class GradientHelper {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly net: TrainableNet,
    data: LabelledImages,
    distill?: Distillation,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const init: HelperInit = {
      model: net.toModel(),
      weightBits: [...net.weightBits],
      activationRanges: [...net.activationRanges],
      images: shared(data.images),
      labels: shared(data.labels),
      count: data.count,
      distill: distill && { ...distill, teacherLogits: shared(distill.teacherLogits) },
      signal: this.signal,
      port: port2,
    };
    this.worker = startWorker(path.join(__dirname, `fine-tune-worker${path.extname(__filename)}`), {
      workerData: init,
      transferList: [port2],
    });
    this.worker.unref();
  }

  start(idx: Int32Array): void {
    const request: HelperRequest = {
      weights: this.net.trainableVariables().map((v) => v.dataSync() as Float32Array),
      idx,
    };
    this.port.postMessage(request);
  }

  result(): { loss: number; grads: Float32Array[] } {
    // The first answer includes the worker's start-up (loading TF.js), hence the generous limit.
    if (Atomics.wait(this.signal, 0, 0, 300_000) === 'timed-out')
      throw new Error('the fine-tuning worker thread did not answer within 5 minutes');
    Atomics.store(this.signal, 0, 0);
    const answer = receiveMessageOnPort(this.port)!.message as HelperAnswer;
    if ('error' in answer) throw new Error(`fine-tuning worker thread: ${answer.error}`);
    return answer;
  }

  close(): void {
    this.port.close();
    void this.worker.terminate();
  }
}
