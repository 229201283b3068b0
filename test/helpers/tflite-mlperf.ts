// The MLPerf Tiny reference models in ../shared/fixtures/mlperf-tiny (read in place, never copied).

import * as path from 'path';
import { QModel } from '../../host/ir/qmodel';
import { randomInt8Input } from '../../host/cli/layer-diff';
import { Rng } from '../../host/util/rng';
import { builtinKernelsModel, loadTfliteOracle } from './tflite-oracle';

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
