// compression.json: written beside a compressed model by `morsel compress`, read by `morsel report` and by
// the blob encoder once sparse and low-bit weight storage exist.
//
// {
//   "format": "morsel-compression/1",
//   "source": "models/fashion_mlp/model.json",          // the uncompressed model
//   "command": "morsel compress …",                      // how to reproduce this directory
//   "layers": {                                          // per weight layer of the compressed model.json
//     "fc1": {
//       "bits": 8,                 // weight bits: 8, 4 or 2 (per output channel, symmetric, like int8)
//       "sparsity": 0.8,           // measured fraction of zero weights
//       "format": "auto",          // storage wish: dense | sparse | auto (smaller of the two)
//       "mask": "…"                // base64 bitmap of nonzero weights, Keras kernel order, bit i = byte i>>3, bit i&7 (LSB first); only if sparsity > 0
//     }
//   },
//   "steps": [ … ],                // what was done, in order, with the measurements after each step
//   "results": { … }               // baseline vs compressed: accuracy, sizes (estimated where marked), MACs, arena,
//                                  // per-layer table, confusion matrices, search candidates
// }

import { WeightBits } from './fake-quant';
import { WeightFormat } from './size';

export const COMPRESSION_FORMAT = 'morsel-compression/1';

export interface LayerRecord {
  bits: WeightBits;
  sparsity: number;
  format: WeightFormat;
  mask?: string;
}

export interface StepRecord {
  technique: 'search' | 'distill' | 'structured' | 'low-rank' | 'prune' | 'mixed-precision' | 'quantize' | 'qat';
  /** Human-readable parameters. */
  detail: string;
  /** Float (fake-quantized when bits < 8) accuracy on the validation split after the step. */
  valAccuracy: number;
  params: number;
  macs: number;
  seconds: number;
  extra?: Record<string, unknown>;
}

export interface ModelFigures {
  params: number;
  macs: number;
  /** Exact int8 blob size today. */
  int8BlobBytes: number;
  /** With the planned sparse/low-bit storage (estimate; equals int8BlobBytes when nothing is packed). */
  estimatedBlobBytes: number;
  arenaBytes: number;
  floatTestAccuracy: number;
  /** The int8 reference interpreter (the device's oracle) on the compiled model. */
  int8TestAccuracy: number;
  /** With weights fake-quantized to the chosen bits (equals float when every layer is float-only). */
  quantizedTestAccuracy: number;
}

export interface LayerRow {
  name: string;
  kind: string;
  weights: number;
  nonzero: number;
  bits: number;
  format: 'dense' | 'sparse';
  int8Bytes: number;
  estimatedBytes: number;
  macs: number;
  /** Accuracy drop (validation) with only this layer at 8/4/2 bits. */
  sensitivity?: Record<string, number>;
}

export interface Candidate {
  width: number;
  depth?: number;
  sparsity: number;
  bits: WeightBits;
  valAccuracy: number;
  estimatedBlobBytes: number;
  macs: number;
  params: number;
  pareto: boolean;
}

export interface CompressionRecord {
  format: typeof COMPRESSION_FORMAT;
  source: string;
  command: string;
  layers: Record<string, LayerRecord>;
  steps: StepRecord[];
  results: {
    testImages: number;
    baseline: ModelFigures;
    compressed: ModelFigures;
    layers: LayerRow[];
    classes: string[];
    confusion: { float: number[][]; int8: number[][]; quantized: number[][] };
    /** Distillation only: the same student trained without the teacher. */
    studentWithoutTeacher?: { floatTestAccuracy: number; macs: number; params: number };
    candidates?: Candidate[];
  };
}

/** Bitmap of nonzero entries, base64. */
export function maskBase64(kernel: Float32Array): string {
  const bits = new Uint8Array(Math.ceil(kernel.length / 8));
  for (let i = 0; i < kernel.length; i++) if (kernel[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
  return Buffer.from(bits).toString('base64');
}
