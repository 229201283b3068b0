// Structured pruning: whole output channels (Dense units, Conv2D filters) are removed and everything that
// reads them is rewired — batch norm, ReLU, pooling and depthwise layers in between lose the same
// channels, and the consuming Dense/Conv2D loses the matching input rows (after a Flatten, every spatial
// position's copy). The result is a genuinely smaller model: fewer MACs, smaller activations and arena.

import { ModelError } from '../ir/graph';
import { cloneModel, type Layer, layerShapes, outChannels, type SeqModel, type WeightLayer } from './seq-model';

export type ChannelCriterion = 'l1' | 'l2' | 'bn-gamma';
export const CHANNEL_CRITERIA: readonly ChannelCriterion[] = ['l1', 'l2', 'bn-gamma'];

/** A prunable producer, the channel-wise layers after it and the layer that mixes its channels. */
export interface ChannelGroup {
  producer: number;
  /** batchnorm / relu / max_pool / depthwise / flatten layers between producer and consumer. */
  between: number[];
  consumer: number;
  /** Positions per channel in the consumer's input (H·W after a Flatten, else 1). */
  spatial: number;
  channels: number;
}

/** Producers whose channels can be removed (not the model's output layer). */
export function channelGroups(m: SeqModel): ChannelGroup[] {
  const shapes = layerShapes(m);
  const groups: ChannelGroup[] = [];
  m.layers.forEach((l, p) => {
    if (l.kind !== 'dense' && l.kind !== 'conv2d') return;
    const between: number[] = [];
    let spatial = 1;
    for (let j = p + 1; j < m.layers.length; j++) {
      const k = m.layers[j].kind;
      if (k === 'dense' || k === 'conv2d') {
        groups.push({ producer: p, between, consumer: j, spatial, channels: outChannels(l) });
        return;
      }
      if (k === 'flatten') spatial = shapes[j - 1].slice(0, -1).reduce((a, b) => a * b, 1);
      between.push(j);
    }
  });
  return groups;
}

/** Importance of each of a group's channels: the producer kernel's L1/L2 norm, or |γ|/√(σ²+ε) of the first batch norm. */
export function channelScores(m: SeqModel, g: ChannelGroup, criterion: ChannelCriterion): Float64Array {
  const scores = new Float64Array(g.channels);
  if (criterion === 'bn-gamma') {
    const bn = g.between.map((i) => m.layers[i]).find((l) => l.kind === 'batchnorm');
    if (!bn || bn.kind !== 'batchnorm')
      throw new ModelError(
        `layer ${m.layers[g.producer].name}: criterion bn-gamma needs a BatchNormalization after it`,
      );
    for (let c = 0; c < g.channels; c++) scores[c] = Math.abs(bn.gamma[c]) / Math.sqrt(bn.variance[c] + bn.epsilon);
    return scores;
  }
  const k = (m.layers[g.producer] as WeightLayer).kernel;
  for (let i = 0; i < k.length; i++) scores[i % g.channels] += criterion === 'l1' ? Math.abs(k[i]) : k[i] * k[i];
  return scores;
}

/** Values of `data` viewed as [outer, channels, inner] at the kept channels. */
function keepAlong(data: Float32Array, channels: number, inner: number, keep: number[]): Float32Array {
  const outer = data.length / (channels * inner);
  const out = new Float32Array(outer * keep.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const c of keep) {
      const base = (a * channels + c) * inner;
      for (let i = 0; i < inner; i++) out[o++] = data[base + i];
    }
  }
  return out;
}

/** The model with only channels `keep` (ascending indices) of each listed producer layer. */
export function removeChannels(m: SeqModel, keep: Map<number, number[]>): SeqModel {
  const groups = channelGroups(m);
  const out = cloneModel(m);
  for (const g of groups) {
    const kept = keep.get(g.producer);
    if (!kept) continue;
    if (kept.length === 0) throw new ModelError(`layer ${m.layers[g.producer].name}: cannot remove every channel`);
    const C = g.channels;
    const p = out.layers[g.producer] as Extract<Layer, { kind: 'dense' | 'conv2d' }>;
    p.kernel = keepAlong(p.kernel, C, 1, kept);
    if (p.bias) p.bias = keepAlong(p.bias, C, 1, kept);
    if (p.kind === 'dense') p.units = kept.length;
    else p.filters = kept.length;
    for (const i of g.between) {
      const l = out.layers[i];
      if (l.kind === 'batchnorm') {
        l.gamma = keepAlong(l.gamma, C, 1, kept);
        l.beta = keepAlong(l.beta, C, 1, kept);
        l.mean = keepAlong(l.mean, C, 1, kept);
        l.variance = keepAlong(l.variance, C, 1, kept);
      } else if (l.kind === 'depthwise_conv2d') {
        l.kernel = keepAlong(l.kernel, C, 1, kept);
        if (l.bias) l.bias = keepAlong(l.bias, C, 1, kept);
      }
    }
    const c = out.layers[g.consumer] as WeightLayer;
    const cOut = outChannels(c);
    if (c.kind === 'dense') {
      const rows =
        g.spatial === 1 ? kept : Array.from({ length: g.spatial }, (_, s) => kept.map((k) => s * C + k)).flat();
      c.kernel = keepAlong(c.kernel, g.spatial * C, cOut, rows);
    } else {
      c.kernel = keepAlong(c.kernel, C, cOut, kept);
    }
  }
  layerShapes(out);
  return out;
}

export interface StructuredResult {
  model: SeqModel;
  /** Channels kept / before, by producer layer name. */
  channels: Record<string, { before: number; after: number }>;
}

/**
 * Keeps the highest-scoring `1 − fraction` of each prunable layer's channels (at least one); `fraction`
 * may be given per layer name (unlisted layers keep everything).
 */
export function pruneStructured(
  m: SeqModel,
  fraction: number | Record<string, number>,
  criterion: ChannelCriterion = 'l1',
): StructuredResult {
  const keep = new Map<number, number[]>();
  const channels: StructuredResult['channels'] = {};
  const groups = channelGroups(m);
  if (typeof fraction !== 'number') {
    const prunable = groups.map((g) => m.layers[g.producer].name);
    for (const name of Object.keys(fraction))
      if (!prunable.includes(name))
        throw new ModelError(`layer '${name}' has no prunable channels (prunable: ${prunable.join(', ')})`);
  }
  for (const g of groups) {
    const name = m.layers[g.producer].name;
    const f = typeof fraction === 'number' ? fraction : (fraction[name] ?? 0);
    if (!(f >= 0 && f < 1)) throw new ModelError(`layer ${name}: channel pruning fraction must be in [0, 1), got ${f}`);
    if (f === 0) continue;
    const scores = channelScores(m, g, criterion);
    const count = Math.max(1, Math.round((1 - f) * g.channels));
    const kept = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, count)
      .sort((a, b) => a - b);
    keep.set(g.producer, kept);
    channels[name] = { before: g.channels, after: kept.length };
  }
  return { model: removeChannels(m, keep), channels };
}
