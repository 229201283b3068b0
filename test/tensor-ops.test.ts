// Issue 15 item 2, the tensor ops: Slice / Split / Gather on activations, runtime Transpose, Concat on any axis,
// Squeeze/Unsqueeze/Reshape anywhere, ReduceMean/Sum/Max on any axes, Softmax on any axis, MatMul of two
// activations, MatMul/Gemm with a constant on 3-D/4-D inputs, LayerNormalization and torch's LayerNorm pattern.
// One-op models from test/fixtures/onnx/tensor/make_tensor_ops.py and torch modules from make_torch_tensor.py:
// the float path against onnxruntime on random inputs, the int8 path against float, every blob bit-exact on every
// engine against the host int8 reference, and the torch modules' int8 output against torch's.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { importModel } from '../host/import';
import { fromStoredLayout, toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, tensor } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { dequantizeOutput, quantizeInput } from '../host/quantize/quantize';
import {
  assertBitExactOnEngines,
  assertTorchJsonCasesWithinRange,
  type ModelCase,
  normalSamples,
  int8Model,
} from './helpers/ops-fixtures';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'tensor');
const FIXTURES = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.onnx'))
  .sort();

/** The ONNX input shape: the stored tensor's, NCHW again where the importer stored it NHWC. */
function onnxShape(g: Graph, name: string): number[] {
  const s = tensor(g, name).shape;
  return (g.meta.nhwcFromNchw ?? '').split(',').includes(name) ? [s[0], s[3], s[1], s[2]] : s;
}

describe('tensor ops (issue 15.2): Slice, Split, Gather, Transpose, Concat, reductions, Softmax, MatMul, LayerNorm', function () {
  this.timeout(120000);
  const cases: ModelCase[] = [];

  before(() => {
    for (const file of FIXTURES) {
      const graph = importModel(path.join(DIR, file));
      const d = toDeviceGraph(graph);
      const xs = normalSamples(onnxShape(graph, graph.inputs[0]), 32, 7).map((x) =>
        toStoredLayout(graph, graph.inputs[0], x),
      );
      const model = int8Model(d, xs);
      cases.push({ file, graph, model, inputs: xs.slice(0, 4).map((x) => quantizeInput(model, x)) });
    }
  });

  it('every model imports and its float path matches onnxruntime on random inputs', async () => {
    assert.equal(FIXTURES.length, 33);
    for (const { file, graph } of cases) {
      const session = await ort.InferenceSession.create(path.join(DIR, file));
      const shape = onnxShape(graph, graph.inputs[0]);
      for (const x of normalSamples(shape, 3, 11)) {
        const ref = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
        const want = ref[session.outputNames[0]].data as Float32Array;
        const got = fromStoredLayout(
          graph,
          graph.outputs[0],
          Object.values(runFloat(graph, { [graph.inputs[0]]: toStoredLayout(graph, graph.inputs[0], x) }))[0],
        );
        assert.equal(got.length, want.length, file);
        const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]) / (1 + Math.abs(want[i]))));
        assert.ok(worst <= 1e-5, `${file}: float differs from onnxruntime by ${worst}`);
      }
    }
  });

  it('the int8 reference stays within 5% of the output range of float', () => {
    for (const { file, graph, model, inputs } of cases) {
      const d = toDeviceGraph(graph);
      for (const xq of inputs) {
        const x = Float32Array.from(
          xq,
          (q) => model.tensors[model.inputs[0]].scale[0] * (q - model.tensors[model.inputs[0]].zeroPoint[0]),
        );
        const yf = Object.values(runFloat(d, { [d.inputs[0]]: x }))[0];
        const yq = dequantizeOutput(model, runInt8(model, [xq])[0]);
        const range = Math.max(...yf) - Math.min(...yf) || Math.max(...yf.map(Math.abs));
        const worst = Math.max(...Array.from(yf, (v, i) => Math.abs(v - yq[i])));
        assert.ok(worst <= 0.05 * range, `${file}: int8 differs from float by ${worst} (range ${range})`);
      }
    }
  });

  it('every blob runs bit-exactly on every engine (one process per engine)', async function () {
    this.timeout(300000);
    await assertBitExactOnEngines(
      cases.map((c) => ({ name: c.file, model: c.model, blob: encodeModel(c.model), inputs: c.inputs })),
    );
  });

  it("torch modules (channel split, SE block, permute, attention, flatten→linear, reductions, LayerNorm, a 2-layer encoder) convert with their own input as calibration; int8 within 5% of torch's output range", () => {
    const torchCases = fs.readdirSync(DIR).filter((f) => f.startsWith('torch_') && f.endsWith('.onnx'));
    assert.equal(torchCases.length, 8);
    assertTorchJsonCasesWithinRange(DIR, torchCases);
  });
});
