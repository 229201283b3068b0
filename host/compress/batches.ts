// Labelled image data as TF.js input batches, and the seeded shuffles training draws them in.

import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../ir/graph';
import type { Rng } from '../util/rng';

/** Images (uint8, row-major, one after the other) with their labels, e.g. loadFashionMnist's result. */
export interface LabelledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** Pixels / 255 of images `idx`, shaped [idx.length, ...inputShape]. */
export function inputBatch(data: LabelledImages, idx: ArrayLike<number>, inputShape: number[]): tf.Tensor {
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (data.images.length !== data.count * size)
    throw new ModelError(
      `the model input has ${size} values per sample; the data has ${data.images.length / data.count}`,
    );
  const x = new Float32Array(idx.length * size);
  for (let i = 0; i < idx.length; i++) {
    const base = idx[i] * size;
    for (let j = 0; j < size; j++) x[i * size + j] = data.images[base + j] / 255;
  }
  return tf.tensor(x, [idx.length, ...inputShape]);
}

export function range(n: number, start = 0): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

export function shuffled(n: number, rng: Rng): Int32Array {
  const p = Int32Array.from(range(n));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The first `count` samples (all if undefined), sharing memory with `data`. */
export function head(data: LabelledImages, count?: number): LabelledImages {
  const n = Math.min(data.count, count ?? data.count);
  const per = data.images.length / data.count;
  return { images: data.images.subarray(0, n * per), labels: data.labels.subarray(0, n), count: n };
}
