// The MLPerf Tiny reference models in ../shared/fixtures/mlperf-tiny (read in place, never copied).

import * as path from 'path';
import { compileGraph, type CompileOptions } from '../../host/compile';
import { readTfliteFile } from '../../host/import/tflite';
import { tfliteToGraph } from '../../host/import/tflite/to-graph';
import { tfliteToQModel } from '../../host/import/tflite/to-qmodel';
import { runFloat } from '../../host/interp/float';
import { runInt8 } from '../../host/interp/int8/interpreter';
import type { QModel } from '../../host/ir/qmodel';
import { quantizeInput } from '../../host/quantize/quantize';
import { randomInt8Input } from '../../host/cli/layer-diff';
import { Rng } from '../../host/util/rng';
import { builtinKernelsModel, loadTfliteOracle } from './tflite-oracle';
import { numel } from '../../host/ir/shape';

/** From dist/test/helpers or dist/tools: the project root's sibling `shared`. */
export const MLPERF = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'mlperf-tiny');
export const mlperfFile = (name: string) => path.join(MLPERF, name);

/** The int8 models that have TFLM golden files. */
export const INT8_MODELS = ['kws_ref_model', 'pretrainedResnet_quant', 'ad01_int8'] as const;

/** Uniform random int8 inputs for a model's first input, reproducible from the seed (`morsel diff --input random:SEED` is the first). */
export function randomInt8Inputs(model: QModel, count: number, seed: number): Int8Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomInt8Input(model, rng));
}

/** Golden cases (by seed) that the slower engines run in `npm test`; every engine runs all in `bench:mlperf -- --sweep`. */
export const SLOW_ENGINE_CASES = [1];

/** Random inputs (seed 7) on which Morsel in 'tflite' rounding must equal full TFLite: the host and node run them all. */
export const TFLITE_RANDOM_INPUTS = 50;
/** The first of those that the slower engines run in `npm test` (all of them in `bench:mlperf -- --sweep`). */
export const SLOW_ENGINE_RANDOM_INPUTS = 2;

/** Full TFLite's outputs (WebAssembly, its builtin kernels: see builtinKernelsModel) for each input. */
export async function tfliteOutputs(model: QModel, inputs: Int8Array[]): Promise<Int8Array[]> {
  const oracle = await loadTfliteOracle();
  const { bytes, weights } = builtinKernelsModel(model);
  return inputs.map((x) => oracle.run(bytes, [x, ...weights]).at(-1)!);
}

/**
 * The float models and how Morsel quantizes them (GPTQ weight rounding; KWS: cross-layer equalization with the
 * activations feeding its depthwise layers filled, min/max ranges; ResNet-8: MSE-clipped ranges), with the int8 sibling
 * whose input quantization gives the real input range (no data set ships with these models).
 */
export const FLOAT_MODELS: {
  name: string;
  int8: string;
  sameWeights: boolean;
  quantization: Pick<CompileOptions, 'observer' | 'weightRounding' | 'equalize'>;
}[] = [
  {
    name: 'kws_ref_model_float32',
    int8: 'kws_ref_model',
    sameWeights: false,
    quantization: { equalize: 'activations', observer: 'minmax', weightRounding: 'gptq' },
  },
  {
    name: 'pretrainedResnet',
    int8: 'pretrainedResnet_quant',
    sameWeights: true,
    quantization: { observer: 'mse', weightRounding: 'gptq' },
  },
];

/**
 * A float model calibrated by Morsel on `calibration` uniform random inputs over its int8 sibling's input range
 * (seed 1, `random:LO:HI`), and how often its int8 top-1 equals the float top-1 on `evaluation` other ones
 * (seed `seed`), with the same count for the sibling's own int8 model when it has the same weights.
 */
export function floatTop1Agreement(
  m: (typeof FLOAT_MODELS)[number],
  calibration: number,
  evaluation: number,
  seed: number,
) {
  const argmax = (y: ArrayLike<number>) => Array.from(y).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);
  const theirs = tfliteToQModel(readTfliteFile(mlperfFile(`${m.int8}.tflite`)));
  const q = theirs.tensors[theirs.inputs[0]];
  const [lo, hi] = [q.scale[0] * (-128 - q.zeroPoint[0]), q.scale[0] * (127 - q.zeroPoint[0])];
  const source = tfliteToGraph(readTfliteFile(mlperfFile(`${m.name}.tflite`)));
  const calib = `random:${lo}:${hi}`;
  const { model, blob } = compileGraph(source, { calib, calibCount: calibration, quiet: true, ...m.quantization });
  const rng = new Rng(seed);
  const size = numel(q.shape);
  let agree = 0;
  let tfliteAgree = m.sameWeights ? 0 : undefined;
  for (let i = 0; i < evaluation; i++) {
    const x = Float32Array.from({ length: size }, () => rng.uniform(lo, hi));
    const top1 = argmax(Object.values(runFloat(source, { [source.inputs[0]]: x }))[0]);
    if (argmax(runInt8(model, [quantizeInput(model, x)])[0]) === top1) agree++;
    if (tfliteAgree !== undefined && argmax(runInt8(theirs, [quantizeInput(theirs, x)])[0]) === top1) tfliteAgree++;
  }
  return { calib, model, blob, agree, tfliteAgree };
}
