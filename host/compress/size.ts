// Blob sizes of compressed models, measured on the real blob: the SeqModel is compiled with its layers'
// weight bits (compile-seq.ts) and the encoder stores each layer's weights in its smallest layout
// (host/blob/weights.ts), so these are the bytes the device loads.

import { encodeModel } from '../blob/encode';
import { storedWeightsOf } from '../blob/weights';
import type { Compiled } from '../compile';
import { ModelError } from '../ir/graph';
import { macsOf } from '../ir/macs';
import type { WeightBits } from '../ir/qmodel';
import { compileSeqModel } from './compile-seq';
import { isWeightLayer, type SeqModel } from './seq-model';

export interface LayerSize {
  name: string;
  weights: number;
  /** Nonzero int8 weights after quantization. */
  nonzero: number;
  bits: WeightBits;
  /** How the blob stores the weights: dense, bitmask, run_length/<bits per run code>, csr. */
  layout: string;
  /** Bytes of the weights in the blob. */
  bytes: number;
  /** The same weights dense at 8 bits. */
  int8Bytes: number;
  macs: number;
}

export interface BlobSize {
  blobBytes: number;
  /** The same model with every weight stored dense at 8 bits. */
  int8BlobBytes: number;
  arenaBytes: number;
  macs: number;
  layers: LayerSize[];
}

/** Sizes of a model compiled from `m` with weight `bits` by layer (compileSeqModel), layer by layer. */
export function blobSizeOf(compiled: Compiled, m: SeqModel, bits: Record<string, WeightBits> = {}): BlobSize {
  const q = compiled.model;
  const stored = storedWeightsOf(q, undefined, 'size');
  const layers: LayerSize[] = m.layers.filter(isWeightLayer).map((l) => {
    const op = q.ops.find((o) => o.name === l.name);
    if (!op) throw new Error(`layer ${l.name} has no op in the compiled model`);
    const t = q.tensors[op.inputs[1]];
    const values = t.data as Int8Array;
    const s = stored.get(op.inputs[1]);
    return {
      name: l.name,
      weights: values.length,
      nonzero: values.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0),
      bits: bits[l.name] ?? 8,
      layout: s ? `${s.layout}${s.runBits ? `/${s.runBits}` : ''}` : 'dense',
      bytes: s ? s.bytes.length : values.length,
      int8Bytes: values.length,
      macs: macsOf(q, op),
    };
  });
  const dense = encodeModel(
    { ...q, tensors: q.tensors.map((t) => ({ ...t, weightBits: undefined })) },
    { layout: 'dense' },
  );
  return {
    blobBytes: compiled.blob.length,
    int8BlobBytes: dense.length,
    arenaBytes: q.arenaBytes,
    macs: q.ops.reduce((a, op) => a + macsOf(q, op), 0),
    layers,
  };
}

/** The blob of `m` with weight `bits` by layer (8 where absent), compiled with a small calibration set. */
export function blobSize(m: SeqModel, bits: Record<string, WeightBits> = {}): BlobSize {
  for (const name of Object.keys(bits)) {
    if (!m.layers.some((l) => l.name === name && isWeightLayer(l)))
      throw new ModelError(`weight bits for '${name}': the model has no weight layer of that name`);
  }
  return blobSizeOf(compileSeqModel(m, { bits, calibCount: 8 }), m, bits);
}

/** Every layer's weight bytes at each bit width (layers are quantized independently, so these add up). */
export function layerBytesByBits(
  m: SeqModel,
  bitsList: WeightBits[],
): Record<string, Partial<Record<WeightBits, number>>> {
  const out: Record<string, Partial<Record<WeightBits, number>>> = {};
  for (const b of bitsList) {
    const size = blobSize(m, Object.fromEntries(m.layers.filter(isWeightLayer).map((l) => [l.name, b])));
    for (const l of size.layers) (out[l.name] ??= {})[b] = l.bytes;
  }
  return out;
}
