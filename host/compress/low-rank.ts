// Low-rank factorization: a Dense kernel W [in, out] (or a 1×1 convolution's) becomes U·V with
// U = U_r·√Σ_r [in, r] and V = √Σ_r·V_rᵀ [r, out] from the SVD, i.e. two layers — the first linear without
// bias, the second with the original bias and activation. Worth it when r·(in + out) < in·out.

import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../ir/graph';
import type { TrainableNet } from './net';
import { cloneModel, findLayer, inputShapeOf, type Layer, type SeqModel } from './seq-model';
import { rankForEnergy, svd } from './svd';

export interface RankChoice {
  /** Keep the smallest rank retaining this fraction of Σσ² (e.g. 0.9). */
  energy?: number;
  /** Or an explicit rank. */
  rank?: number;
}

export interface Factorized {
  model: SeqModel;
  rank: number;
  /** Fraction of Σσ² kept. */
  energy: number;
  paramsBefore: number;
  paramsAfter: number;
}

export function factorizeLayer(m: SeqModel, name: string, choice: RankChoice): Factorized {
  const { layer, index } = findLayer(m, name);
  const pointwise =
    layer.kind === 'conv2d' &&
    layer.kernelSize[0] === 1 &&
    layer.kernelSize[1] === 1 &&
    layer.strides.every((s) => s === 1);
  if (layer.kind !== 'dense' && !pointwise)
    throw new ModelError(
      `layer ${name}: low-rank factorization applies to Dense and 1×1 Conv2D layers, not ${layer.kind}`,
    );
  const l = layer as Extract<Layer, { kind: 'dense' | 'conv2d' }>;
  const inputs = inputShapeOf(m, index).at(-1)!;
  const outputs = l.kind === 'dense' ? l.units : l.filters;
  const d = svd(l.kernel, inputs, outputs);
  const rank = choice.rank ?? rankForEnergy(d.s, choice.energy ?? 0.9);
  if (!(rank >= 1 && rank <= d.k)) throw new ModelError(`layer ${name}: rank must be within 1…${d.k}, got ${rank}`);
  const first = new Float32Array(inputs * rank);
  const second = new Float32Array(rank * outputs);
  for (let r = 0; r < rank; r++) {
    const root = Math.sqrt(d.s[r]);
    for (let i = 0; i < inputs; i++) first[i * rank + r] = d.u[i * d.k + r] * root;
    for (let o = 0; o < outputs; o++) second[r * outputs + o] = root * d.v[o * d.k + r];
  }
  const total = d.s.reduce((a, x) => a + x * x, 0);
  const kept = d.s.subarray(0, rank).reduce((a, x) => a + x * x, 0);
  const out = cloneModel(m);
  const a: Layer =
    l.kind === 'dense'
      ? { kind: 'dense', name: `${name}_lr_u`, units: rank, activation: 'linear', kernel: first }
      : {
          kind: 'conv2d',
          name: `${name}_lr_u`,
          filters: rank,
          kernelSize: [1, 1],
          strides: [1, 1],
          padding: 'valid',
          activation: 'linear',
          kernel: first,
        };
  const b: Layer =
    l.kind === 'dense'
      ? { ...l, name: `${name}_lr_v`, kernel: second, bias: l.bias && Float32Array.from(l.bias) }
      : { ...l, name: `${name}_lr_v`, kernel: second, bias: l.bias && Float32Array.from(l.bias) };
  out.layers.splice(index, 1, a, b);
  const bias = l.bias?.length ?? 0;
  return {
    model: out,
    rank,
    energy: total > 0 ? kept / total : 1,
    paramsBefore: l.kernel.length + bias,
    paramsAfter: first.length + second.length + bias,
  };
}

/**
 * W [rows, cols] replaced by its best approximation of the rank keeping `energy` of Σσ², but at least
 * `minRank`; returns that rank.
 */
export function truncateToEnergy(
  w: Float32Array,
  rows: number,
  cols: number,
  energy: number,
  minRank = 1,
): { kernel: Float32Array; rank: number } {
  const d = svd(w, rows, cols);
  const rank = Math.min(d.k, Math.max(minRank, rankForEnergy(d.s, energy)));
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rank; r++) s += d.u[i * d.k + r] * d.s[r] * d.v[j * d.k + r];
      out[i * cols + j] = s;
    }
  }
  return { kernel: out, rank };
}

/**
 * A trainNet `beforeStep` hook that projects layer kernels onto their `energy` low-rank truncation
 * `updates` times during the first `endFraction` of fine-tuning. A trained kernel's spectrum is flat
 * (initialisation noise); each projection drops the weakest directions and fine-tuning moves what they did
 * into the strong ones, so the rank needed for `energy` shrinks from one projection to the next — down to
 * `minRank` (the size target), below which accuracy would suffer.
 */
export function gradualLowRank(
  net: TrainableNet,
  layers: { name: string; rows: number; cols: number }[],
  energy: number,
  minRank = 1,
  updates = 6,
  endFraction = 0.7,
): (step: number, steps: number) => void {
  let done = -1;
  return (step, steps) => {
    const k = Math.floor((step / Math.max(1, Math.floor(steps * endFraction))) * updates);
    if (k === done || k >= updates) return;
    done = k;
    for (const l of layers) {
      const v = net.vars.get(l.name)!.kernel!;
      const t = truncateToEnergy(v.dataSync() as Float32Array, l.rows, l.cols, energy, minRank);
      tf.tidy(() => v.assign(tf.tensor(t.kernel, v.shape)));
    }
  };
}
