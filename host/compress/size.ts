// Blob size estimates for compressed weights. The blob format stores int8 dense weights today; sparse and
// int4/int2 packed weight storage is planned. Until it exists, a layer's packed size is estimated as
//   dense:  ⌈n·b/8⌉ bytes          (n weights at b bits)
//   sparse: ⌈n/8⌉ + ⌈nnz·b/8⌉      (a 1-bit occupancy bitmap, then the nonzero values packed)
//   auto:   the smaller of the two,
// and the estimated blob is the exact int8 blob with each layer's int8 weight bytes replaced by that.

import { ModelError } from '../ir/graph';
import { macsOf } from '../ir/macs';
import { compileSeqModel } from './compile-seq';
import { WeightBits } from './fake-quant';
import { isWeightLayer, SeqModel } from './seq-model';

export type WeightFormat = 'dense' | 'sparse' | 'auto';

export interface LayerDecision {
  bits: WeightBits;
  /** Fraction of zero weights (measured). */
  sparsity: number;
  format: WeightFormat;
}

export interface LayerSize {
  name: string;
  weights: number;
  nonzero: number;
  bits: number;
  /** The storage the estimate picked. */
  format: 'dense' | 'sparse';
  int8Bytes: number;
  estimatedBytes: number;
  macs: number;
}

export interface SizeEstimate {
  /** Exact size of today's int8 blob of the model. */
  int8Blob: number;
  /** Estimated blob size with the decisions' packing (equal to int8Blob when all layers are dense int8). */
  estimatedBlob: number;
  arenaBytes: number;
  macs: number;
  layers: LayerSize[];
}

export function packedBytes(weights: number, nonzero: number, bits: number, format: WeightFormat): { bytes: number; format: 'dense' | 'sparse' } {
  const dense = Math.ceil((weights * bits) / 8);
  const sparse = Math.ceil(weights / 8) + Math.ceil((nonzero * bits) / 8);
  if (format === 'dense' || (format === 'auto' && dense <= sparse)) return { bytes: dense, format: 'dense' };
  return { bytes: sparse, format: 'sparse' };
}

/** Size of `m` compiled to int8, and estimated with per-layer `decisions` (missing layers: dense int8). */
export function estimateBlobBytes(m: SeqModel, decisions: Record<string, LayerDecision> = {}): SizeEstimate {
  for (const name of Object.keys(decisions)) {
    if (!m.layers.some((l) => l.name === name && isWeightLayer(l))) throw new ModelError(`compression decision for '${name}': the model has no weight layer of that name`);
  }
  const compiled = compileSeqModel(m, { calibCount: 8 });
  const q = compiled.model;
  let estimated = compiled.blob.length;
  const layers: LayerSize[] = [];
  for (const l of m.layers) {
    if (!isWeightLayer(l)) continue;
    const op = q.ops.find((o) => o.name === l.name);
    if (!op) throw new Error(`layer ${l.name} has no op in the compiled model`);
    const weights = l.kernel.length;
    const nonzero = l.kernel.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
    const d = decisions[l.name] ?? { bits: 8, sparsity: 0, format: 'dense' as const };
    const packed = packedBytes(weights, nonzero, d.bits, d.format);
    estimated += packed.bytes - weights;
    layers.push({ name: l.name, weights, nonzero, bits: d.bits, format: packed.format, int8Bytes: weights, estimatedBytes: packed.bytes, macs: macsOf(q, op) });
  }
  return { int8Blob: compiled.blob.length, estimatedBlob: estimated, arenaBytes: q.arenaBytes, macs: q.ops.reduce((a, op) => a + macsOf(q, op), 0), layers };
}
