// The compiler pipeline end to end: import → passes → calibrate → quantize → plan → encode.

import { encodeModel } from './blob/encode';
import type { OptimizeGoal } from './blob/weights';
import { loadSamples, type Samples } from './data/dataset';
import { type Graph, ModelError, numel, tensor } from './ir/graph';
import type { QModel } from './ir/qmodel';
import { importModel } from './import';
import { producerNote, toStoredLayout } from './import/boundary';
import { checkDeviceIo } from './import/limits';
import { toDeviceGraph } from './passes';
import { activationChannelRanges, equalizeLayers } from './passes/equalize';
import { planMemory } from './plan/planner';
import { calibrate, type ObserverKind } from './quantize/calibrate';
import type { RoundingMode } from './quantize/fixedpoint';
import { gptqWeights } from './quantize/gptq';
import { quantizeGraph } from './quantize/quantize';
import { Progress } from './util/progress';

export interface CompileOptions {
  /** Representative data (see loadSamples); required unless every activation already carries quantization. */
  calib?: string;
  calibCount?: number;
  /**
   * Cross-layer equalization of the float layers before calibration (./passes/equalize): 'weights' balances weight
   * ranges only (data-free); 'activations' also fills each activation feeding a depthwise layer from the calibration data.
   */
  equalize?: Equalization;
  observer?: ObserverKind;
  /** 'gptq': round weights to minimize each layer's output error on the calibration data (./quantize/gptq). */
  weightRounding?: WeightRounding;
  rounding?: RoundingMode;
  /** How the blob stores the weights: smallest, fastest, or smallest within 2% of the fastest (default). */
  optimize?: OptimizeGoal;
  quiet?: boolean;
}

export interface Compiled {
  /** The graph as imported (the float reference for accuracy). */
  source: Graph;
  /** After the passes: NHWC, fused, what was quantized. */
  device: Graph;
  model: QModel;
  blob: Uint8Array;
  calibration?: Samples;
}

const DEFAULT_CALIB_COUNT = 1000;
export const WEIGHT_ROUNDINGS = ['nearest', 'gptq'] as const;
type WeightRounding = (typeof WEIGHT_ROUNDINGS)[number];
export const EQUALIZATIONS = ['none', 'weights', 'activations'] as const;
export type Equalization = (typeof EQUALIZATIONS)[number];

export function inputSize(g: Graph): number {
  if (g.inputs.length !== 1)
    throw new ModelError(`models with ${g.inputs.length} inputs are not supported yet (one input expected)`);
  return numel(tensor(g, g.inputs[0]).shape);
}

export function compileGraph(source: Graph, opts: CompileOptions = {}): Compiled {
  checkDeviceIo(source.inputs, source.outputs, source.name);
  const device = toDeviceGraph(source);
  let calibration: Samples | undefined;
  if (opts.calib)
    calibration = loadSamples(opts.calib, {
      split: 'train',
      limit: opts.calibCount ?? DEFAULT_CALIB_COUNT,
      size: inputSize(device),
    });
  // Calibration data comes in the source model's layout (NCHW for ONNX); the graph stores NHWC.
  if (calibration) calibration.inputs = calibration.inputs.map((x) => toStoredLayout(source, source.inputs[0], x));
  const samples = calibration?.inputs ?? [];
  if (opts.equalize === 'activations' && samples.length === 0)
    throw new ModelError('--equalize activations needs calibration data (--calib)');
  if (opts.equalize && opts.equalize !== 'none')
    equalizeLayers(device, opts.equalize === 'activations' ? activationChannelRanges(device, samples) : undefined);
  const bar = opts.quiet || samples.length === 0 ? undefined : new Progress('calibrating', samples.length);
  const stats = calibrate(device, samples, {
    observer: opts.observer ?? 'minmax',
    onProgress: bar ? (n: number) => bar.tick(n) : undefined,
  });
  bar?.done();
  const roundedWeights = opts.weightRounding === 'gptq' ? gptqWeights(device, samples) : undefined;
  const model = quantizeGraph(device, stats, { rounding: opts.rounding ?? 'double', roundedWeights });
  model.producer += producerNote(source);
  planMemory(model);
  return { source, device, model, blob: encodeModel(model, { optimize: opts.optimize }), calibration };
}

export function compileFile(file: string, opts: CompileOptions = {}): Compiled {
  return compileGraph(importModel(file), opts);
}
