// compression.json: written beside a compressed model (model.json + weights.bin, and its blob model.msl) by
// `morsel compress`, read by `morsel report`.
//
// {
//   "format": "morsel-compression/2",
//   "source": "models/fashion_mlp/model.json",          // the uncompressed model
//   "command": "morsel compress …",                      // how to reproduce this directory
//   "layers": {                                          // per weight layer of the compressed model.json
//     "fc1": {
//       "bits": 8,                 // weight bits: 8, 4 or 2 (per output channel, symmetric: levels ±(2^(b−1)−1))
//       "sparsity": 0.8,           // measured fraction of zero weights (float model)
//       "layout": "run_length/3",  // how model.msl stores them (host/blob/weights.ts picks the smallest)
//       "bytes": 29578             // their bytes in model.msl
//     }
//   },
//   "steps": [ … ],                // what was done, in order, with the measurements after each step
//   "results": { … }               // baseline vs compressed: accuracy, real blob bytes, MACs, arena, per-layer
//                                  // table, confusion matrices, search candidates
// }

import type { WeightBits } from './fake-quant';
import type { LayerSize } from './size';

export const COMPRESSION_FORMAT = 'morsel-compression/2';

export interface LayerRecord {
  bits: WeightBits;
  sparsity: number;
  layout: string;
  bytes: number;
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
  /** The blob (model.msl for the compressed model). */
  blobBytes: number;
  /** The same model with every weight stored dense at 8 bits. */
  int8BlobBytes: number;
  arenaBytes: number;
  floatTestAccuracy: number;
  /** The int8 reference interpreter (the device's oracle) on the compiled model. */
  int8TestAccuracy: number;
  /** With weights fake-quantized to the chosen bits (equals float when every layer is float-only). */
  quantizedTestAccuracy: number;
}

export interface LayerRow extends LayerSize {
  kind: string;
  /** Accuracy drop (validation) with only this layer at 8/4/2 bits. */
  sensitivity?: Record<string, number>;
}

export interface Candidate {
  width: number;
  depth?: number;
  sparsity: number;
  bits: WeightBits;
  valAccuracy: number;
  blobBytes: number;
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
