// Mixed-precision weights: each layer's sensitivity is the accuracy lost when that layer alone has its
// weights fake-quantized to b bits (the rest stay float); bit widths are then lowered greedily, always
// taking the step that costs the least accuracy per byte saved, until the real blob fits the budget.

import { ModelError } from '../ir/graph';
import type { LabelledImages } from './batches';
import { evaluateNet } from './evaluate';
import type { WeightBits } from './fake-quant';
import { TrainableNet } from './net';
import { isWeightLayer, type SeqModel } from './seq-model';

export interface Sensitivity {
  layer: string;
  bits: WeightBits;
  accuracy: number;
  /** Baseline accuracy minus accuracy (positive = worse). */
  drop: number;
}

export function measureSensitivity(
  m: SeqModel,
  data: LabelledImages,
  bitsList: WeightBits[] = [8, 4, 2],
): { baseline: number; entries: Sensitivity[] } {
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
 * Bits per layer so that the blob is at most `budget` bytes: from 8 bits everywhere, one layer is lowered one
 * step at a time, always the step that costs the least accuracy per byte saved (`layerBytes`: each layer's
 * weight bytes at each width, layerBytesByBits), until `blobBytes` (the real blob of an assignment) fits.
 */
export function chooseBits(
  layerBytes: Record<string, Partial<Record<WeightBits, number>>>,
  sensitivity: Sensitivity[],
  budget: number,
  blobBytes: (bits: Record<string, WeightBits>) => number,
): Record<string, WeightBits> {
  const bits: Record<string, WeightBits> = Object.fromEntries(Object.keys(layerBytes).map((n) => [n, 8 as WeightBits]));
  const drop = (layer: string, b: WeightBits) => sensitivity.find((s) => s.layer === layer && s.bits === b)?.drop;
  for (let total = blobBytes(bits); total > budget; total = blobBytes(bits)) {
    let best: { layer: string; to: WeightBits; score: number } | undefined;
    for (const [name, bytes] of Object.entries(layerBytes)) {
      const to = LOWER[bits[name]];
      const after = to && drop(name, to);
      if (!to || after === undefined || bytes[to] === undefined || bytes[bits[name]] === undefined) continue;
      const saved = bytes[bits[name]]! - bytes[to]!;
      if (saved <= 0) continue;
      const score = (Math.max(0, after) - Math.max(0, drop(name, bits[name]) ?? 0) + 1e-6) / saved;
      if (!best || score < best.score) best = { layer: name, to, score };
    }
    if (!best)
      throw new ModelError(
        `a blob of at most ${budget} bytes is out of reach: with every layer at its lowest bit width it is ${total} bytes`,
      );
    bits[best.layer] = best.to;
  }
  return bits;
}
