// Float accuracy of a TrainableNet (with whatever masks and fake quantization it carries).

import * as tf from '@tensorflow/tfjs';
import { inputBatch, type LabelledImages } from './batches';
import type { TrainableNet } from './net';

export function predictLogits(net: TrainableNet, data: LabelledImages, chunk = 500): Float32Array {
  let classes = 0;
  const parts: Float32Array[] = [];
  for (let s = 0; s < data.count; s += chunk) {
    const idx = Array.from({ length: Math.min(chunk, data.count - s) }, (_, k) => s + k);
    const y = tf.tidy(() => net.forward(inputBatch(data, idx, net.inputShape)));
    classes = y.shape[1];
    parts.push(y.dataSync() as Float32Array);
    y.dispose();
  }
  const out = new Float32Array(data.count * classes);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}

export function accuracyOf(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) ok++;
  return ok / predicted.length;
}

/** counts[label][predicted]. */
export function confusionMatrix(predicted: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < predicted.length; i++) m[labels[i]][predicted[i]]++;
  return m;
}

export function evaluateNet(net: TrainableNet, data: LabelledImages): number {
  const logits = predictLogits(net, data);
  return accuracyOf(argmaxRows(logits, logits.length / data.count), data.labels);
}
