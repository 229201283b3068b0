// The torch suite (issue 15): the torch modules and models with torch's own input and output tensors, gathered from
// where their scripts write them, and the suite's input distribution. Read by test/torch-suite.test.ts and
// tools/torch-suite.ts (`npm run suite:torch`). tools/torch-suite.py exports the suite's own files; the other
// modules come from the op fixtures' scripts (test/fixtures/onnx/tensor/make_torch_tensor.py,
// test/fixtures/spatial/make_spatial_models.py, test/fixtures/onnx/make_op_models.py and
// make_elementwise_models.py), read in place, not exported twice.

import * as fs from 'fs';
import * as path from 'path';
import { parseNpy } from '../host/data/npy';
import { numel } from '../host/ir/graph';
import type { Rng } from '../host/util/rng';

export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

export interface TorchCase {
  name: string;
  onnx: string;
  /** torch's input (NCHW / NCL / [N, T, F], as torch holds it) and torch's float output for it. */
  input: TorchTensor;
  output: TorchTensor;
}

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures');
export const SUITE_DIR = path.join(FIXTURES, 'torch-suite');

const npy = (file: string): TorchTensor => {
  const a = parseNpy(fs.readFileSync(file), file);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
};
const fromJson = (t: { shape: number[]; data: number[] }): TorchTensor => ({
  shape: t.shape,
  data: Float32Array.from(t.data),
});
const onnxIn = (dir: string, prefix = '') =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.onnx'))
    .sort()
    .map((f) => path.join(dir, f));
const stem = (file: string) => file.slice(0, -'.onnx'.length);

/** A case whose tensors sit beside it as NAME.input.npy and NAME.output.npy. */
const npyCase = (onnx: string): TorchCase => ({
  name: path.basename(stem(onnx)),
  onnx,
  input: npy(`${stem(onnx)}.input.npy`),
  output: npy(`${stem(onnx)}.output.npy`),
});

/** The suite's models (lenet … transformer). */
export function torchModels(): TorchCase[] {
  return onnxIn(path.join(SUITE_DIR, 'models')).map(npyCase);
}

/** Every torch module: the suite's own and the op fixtures' torch modules. */
export function torchModules(): TorchCase[] {
  const suite = onnxIn(path.join(SUITE_DIR, 'modules')).map(npyCase);
  const spatial = onnxIn(path.join(FIXTURES, 'spatial'), 'torch_').map(npyCase);
  // make_torch_tensor.py: NAME.json {"input": {shape, data}, "output": {shape, data}}.
  const tensor = onnxIn(path.join(FIXTURES, 'onnx', 'tensor'), 'torch_').map((onnx) => {
    const ref = JSON.parse(fs.readFileSync(`${stem(onnx)}.json`, 'utf8'));
    return { name: path.basename(stem(onnx)), onnx, input: fromJson(ref.input), output: fromJson(ref.output) };
  });
  // make_op_models.py / make_elementwise_models.py: NAME.expected.json {"inputs": {x: …}, "outputs": {y: …}}.
  const expected = ['batchnorm1d', 'batchnorm3d', 'ew_torch_check'].map((name) => {
    const onnx = path.join(FIXTURES, 'onnx', `${name}.onnx`);
    const ref = JSON.parse(fs.readFileSync(`${stem(onnx)}.expected.json`, 'utf8'));
    const [input, output] = [ref.inputs, ref.outputs].map((t) => fromJson(Object.values(t)[0] as never));
    return { name, onnx, input, output };
  });
  return [...suite, ...spatial, ...tensor, ...expected];
}

/**
 * One sample of the suite's input distribution (tools/torch-suite.py `sample`, which the models' batch norms and
 * classifier heads were fitted on): a standard normal offset per index of axis 1 plus standard normal noise on
 * every element, row-major in the source layout.
 */
export function suiteSample(shape: readonly number[], rng: Rng): Float32Array {
  const inner = numel(shape.slice(2));
  const offsets = Array.from({ length: shape[1] }, () => rng.normal());
  return Float32Array.from({ length: numel(shape) }, (_, i) => offsets[Math.floor(i / inner)] + rng.normal());
}
