// Unstructured magnitude pruning: the smallest-magnitude kernel weights are zeroed, either with one
// threshold across all pruned layers ('global') or per layer, raised gradually during fine-tuning on the
// polynomial schedule of Zhu & Gupta (2017) so the network can adapt; masks stay fixed between updates and
// are re-applied after every optimizer step.

import { ModelError } from '../ir/graph';
import type { TrainableNet } from './net';
import { isWeightLayer, type SeqModel } from './seq-model';

export type SparsityScope = 'global' | 'layer';

export interface PruneTargets {
  /** Final sparsity by layer name; layers not listed are not pruned. */
  layers: Record<string, number>;
  scope: SparsityScope;
}

/** s(t) = s_f + (s_i − s_f)(1 − t/T)³ for step t of T, then s_f. */
export function polynomialSparsity(step: number, steps: number, final: number, initial = 0, power = 3): number {
  const t = Math.min(1, Math.max(0, step / Math.max(1, steps)));
  return final + (initial - final) * (1 - t) ** power;
}

/** 0/1 mask keeping the largest-|w| (1 − sparsity) fraction of `w`; ties broken by index. */
export function magnitudeMask(w: Float32Array, sparsity: number): Float32Array {
  const drop = Math.round(sparsity * w.length);
  const order = Array.from(w.keys()).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
  const mask = new Float32Array(w.length).fill(1);
  for (let i = 0; i < drop; i++) mask[order[i]] = 0;
  return mask;
}

/**
 * Masks for `targets` scaled by `fraction` of the way (0 … 1) to their final sparsity. 'global' ranks all
 * listed layers' weights together (the overall sparsity matches the weighted mean of the targets).
 */
export function magnitudeMasks(
  weights: Map<string, Float32Array>,
  targets: PruneTargets,
  fraction = 1,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  if (targets.scope === 'layer') {
    for (const [name, s] of Object.entries(targets.layers))
      out.set(name, magnitudeMask(weights.get(name)!, s * fraction));
    return out;
  }
  const names = Object.keys(targets.layers);
  const total = names.reduce((a, n) => a + weights.get(n)!.length, 0);
  const sparsity = (fraction * names.reduce((a, n) => a + targets.layers[n] * weights.get(n)!.length, 0)) / total;
  const all = new Float32Array(total);
  let o = 0;
  for (const n of names) {
    all.set(weights.get(n)!, o);
    o += weights.get(n)!.length;
  }
  const mask = magnitudeMask(all, sparsity);
  o = 0;
  for (const n of names) {
    out.set(n, mask.slice(o, o + weights.get(n)!.length));
    o += weights.get(n)!.length;
  }
  return out;
}

/** Every dense and conv kernel (not depthwise: few weights, each one matters) at `sparsity`. */
export function defaultPruneTargets(m: SeqModel, sparsity: number, scope: SparsityScope = 'global'): PruneTargets {
  if (!(sparsity >= 0 && sparsity < 1)) throw new ModelError(`sparsity must be in [0, 1), got ${sparsity}`);
  const layers: Record<string, number> = {};
  for (const l of m.layers) if (l.kind === 'dense' || l.kind === 'conv2d') layers[l.name] = sparsity;
  return { layers, scope };
}

export const sparsityOf = (w: Float32Array): number => w.reduce((a, v) => a + (v === 0 ? 1 : 0), 0) / w.length;

/**
 * A `beforeStep` hook for trainNet that prunes `net` gradually: masks are recomputed from the current
 * weights `updates` times, reaching the final targets at `endFraction` of training; afterwards they stay.
 */
export function gradualPruning(
  net: TrainableNet,
  targets: PruneTargets,
  updates = 20,
  endFraction = 0.6,
): (step: number, steps: number) => void {
  let done = -1;
  return (step, steps) => {
    const end = Math.max(1, Math.floor(steps * endFraction));
    const k = Math.min(updates, Math.floor((step / end) * updates));
    if (k === done) return;
    done = k;
    const fraction = polynomialSparsity(k, updates, 1);
    const weights = new Map(
      Object.keys(targets.layers).map((n) => [n, net.vars.get(n)!.kernel!.dataSync() as Float32Array]),
    );
    for (const [name, mask] of magnitudeMasks(weights, targets, fraction)) net.setMask(name, mask);
  };
}

export function weightLayerNames(m: SeqModel): string[] {
  return m.layers.filter(isWeightLayer).map((l) => l.name);
}
