// Mixed-precision weights: each layer's sensitivity is the accuracy lost when that layer alone has its
// weights fake-quantized to b bits (the rest stay float); bit widths are then lowered greedily, always
// taking the step that costs the least accuracy per byte saved, until the estimated blob fits the budget.

import { ModelError } from '../ir/graph';
import { LabelledImages } from './batches';
import { evaluateNet } from './evaluate';
import { WeightBits } from './fake-quant';
import { TrainableNet } from './net';
import { isWeightLayer, SeqModel } from './seq-model';
import { LayerDecision, packedBytes, SizeEstimate } from './size';

export interface Sensitivity {
  layer: string;
  bits: WeightBits;
  accuracy: number;
  /** Baseline accuracy minus accuracy (positive = worse). */
  drop: number;
}

export function measureSensitivity(m: SeqModel, data: LabelledImages, bitsList: WeightBits[] = [8, 4, 2]): { baseline: number; entries: Sensitivity[] } {
  const net = new TrainableNet(m);
  try {
    const baseline = evaluateNet(net, data);
    const entries: Sensitivity[] = [];
    for (const l of m.layers.filter(isWeightLayer)) {
      for (const bits of bitsList) {
        net.weightBits.clear();
        net.weightBits.set(l.name, bits);
        const accuracy = evaluateNet(net, data);
        entries.push({ layer: l.name, bits, accuracy, drop: baseline - accuracy });
      }
    }
    return { baseline, entries };
  } finally {
    net.dispose();
  }
}

const LOWER: Record<WeightBits, WeightBits | undefined> = { 8: 4, 4: 2, 2: undefined };

/**
 * Bits per layer so that the estimated blob is at most `budget` bytes. `size` is the model's estimate at
 * the current decisions (for the fixed overhead and the weight counts); sparsity and format stay as given.
 */
export function chooseBits(size: SizeEstimate, sensitivity: Sensitivity[], budget: number, decisions: Record<string, LayerDecision> = {}): Record<string, WeightBits> {
  const bits: Record<string, WeightBits> = Object.fromEntries(size.layers.map((l) => [l.name, 8 as WeightBits]));
  const drop = (layer: string, b: WeightBits) => sensitivity.find((s) => s.layer === layer && s.bits === b)?.drop;
  const bytes = (l: SizeEstimate['layers'][number], b: number) => packedBytes(l.weights, l.nonzero, b, decisions[l.name]?.format ?? 'auto').bytes;
  const fixed = size.estimatedBlob - size.layers.reduce((a, l) => a + l.estimatedBytes, 0);
  const total = () => fixed + size.layers.reduce((a, l) => a + bytes(l, bits[l.name]), 0);
  while (total() > budget) {
    let best: { layer: string; to: WeightBits; score: number } | undefined;
    for (const l of size.layers) {
      const to = LOWER[bits[l.name]];
      const after = to && drop(l.name, to);
      if (!to || after === undefined) continue;
      const saved = bytes(l, bits[l.name]) - bytes(l, to);
      if (saved <= 0) continue;
      const score = (Math.max(0, after) - Math.max(0, drop(l.name, bits[l.name]) ?? 0) + 1e-6) / saved;
      if (!best || score < best.score) best = { layer: l.name, to, score };
    }
    if (!best) throw new ModelError(`a blob of at most ${budget} bytes is out of reach: with every layer at its lowest bit width it is ~${total()} bytes`);
    bits[best.layer] = best.to;
  }
  return bits;
}
