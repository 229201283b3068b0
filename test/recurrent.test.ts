// Issue 15, LSTM and GRU: ONNX LSTM/GRU unrolled on the host into the device's existing int8 kernels
// (host/import/recurrent.ts). One-op models over the attribute combinations from
// test/fixtures/onnx/recurrent/make_recurrent_ops.py: the float path against onnxruntime on random inputs, the
// int8 path against float, every blob bit-exact on every engine against the host int8 reference; torch's nn.LSTM
// and nn.GRU modules (make_torch_recurrent.py) with their own input as calibration against torch's output; the
// refusals naming the attribute.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { compileGraph } from '../host/compile';
import { ENGINES, runBatchOnEngine } from '../host/engines';
import { importModel } from '../host/import';
import { fromStoredLayout, toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, numel, tensor } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { planMemory } from '../host/plan/planner';
import { calibrate } from '../host/quantize/calibrate';
import { dequantizeOutput, quantizeGraph, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'recurrent');
const onnxFiles = (prefix: RegExp) =>
  fs
    .readdirSync(DIR)
    .filter((f) => prefix.test(f) && f.endsWith('.onnx'))
    .sort();
const OPS = onnxFiles(/^(lstm|gru)_/);

/** Gaussian samples in the ONNX model's own (row-major) order. */
function samples(shape: number[], count: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: numel(shape) }, () => rng.normal()));
}

interface Case {
  file: string;
  graph: Graph;
  model: QModel;
  /** Test inputs, quantized. */
  inputs: Int8Array[];
}

describe('LSTM and GRU (issue 15): unrolled into int8 kernels, ONNX and torch', function () {
  this.timeout(120000);
  const cases: Case[] = [];

  before(() => {
    for (const file of OPS) {
      const graph = importModel(path.join(DIR, file));
      const d = toDeviceGraph(graph);
      const xs = samples(tensor(graph, graph.inputs[0]).shape, 32, 7);
      const model = quantizeGraph(d, calibrate(d, xs));
      planMemory(model);
      cases.push({ file, graph, model, inputs: xs.slice(0, 3).map((x) => quantizeInput(model, x)) });
    }
  });

  it('every attribute combination imports and its float path matches onnxruntime on random inputs', async () => {
    assert.equal(OPS.length, 19);
    for (const { file, graph } of cases) {
      // onnxruntime runs layout 0 only: a layout-1 model is compared with its layout-0 twin (same data order).
      const twin = fs.existsSync(path.join(DIR, `twin_${file}`));
      const session = await ort.InferenceSession.create(path.join(DIR, twin ? `twin_${file}` : file));
      const shape = tensor(graph, graph.inputs[0]).shape;
      const ortShape = twin ? [shape[1], shape[0], shape[2]] : shape;
      for (const x of samples(shape, 3, 11)) {
        const ref = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, ortShape) });
        const want = ref[session.outputNames[0]].data as Float32Array;
        const got = fromStoredLayout(
          graph,
          graph.outputs[0],
          Object.values(runFloat(graph, { [graph.inputs[0]]: x }))[0],
        );
        assert.equal(got.length, want.length, file);
        const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])));
        assert.ok(worst <= 1e-5, `${file}: float differs from onnxruntime by ${worst}`);
      }
    }
  });

  it('the int8 reference stays within 5% of the output range of float', () => {
    for (const { file, graph, model, inputs } of cases) {
      const d = toDeviceGraph(graph);
      const input = model.tensors[model.inputs[0]];
      for (const xq of inputs) {
        const x = Float32Array.from(xq, (q) => input.scale[0] * (q - input.zeroPoint[0]));
        const yf = Object.values(runFloat(d, { [d.inputs[0]]: x }))[0];
        const yq = dequantizeOutput(model, runInt8(model, [xq])[0]);
        const range = Math.max(...yf) - Math.min(...yf);
        const worst = Math.max(...Array.from(yf, (v, i) => Math.abs(v - yq[i])));
        assert.ok(worst <= 0.05 * range, `${file}: int8 differs from float by ${worst} (range ${range})`);
      }
    }
  });

  it('every blob runs bit-exactly on every engine (one process per engine)', async function () {
    this.timeout(300000);
    const hex = (a: Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');
    const jobs = cases.map((c) => ({ blob: encodeModel(c.model), inputs: c.inputs }));
    const want = cases.map((c) => c.inputs.map((x) => hex(runInt8(c.model, [x])[0])));
    for (const engine of ENGINES) {
      const runs = await runBatchOnEngine(engine, jobs);
      runs.forEach((r, k) => assert.deepEqual(r.outputs.map(hex), want[k], `${cases[k].file} on ${engine}`));
    }
  });

  it('a weight every time step reads is stored once', () => {
    const { model } = cases.find((c) => c.file === 'lstm_forward.onnx')!;
    const fc = model.ops.filter((op) => op.opcode === 'FULLY_CONNECTED');
    // The input projection of all steps, then one recurrent product per step after the first.
    assert.equal(fc.length, 5);
    assert.equal(new Set(fc.slice(1).map((op) => op.inputs[1])).size, 1);
  });

  it('refuses activations, clip and input_forget naming the attribute', () => {
    const refusals: Record<string, RegExp> = {
      'refuse_lstm_activations.onnx': /activations \[Sigmoid,Relu,Tanh\] are not supported/,
      'refuse_gru_clip.onnx': /the attribute clip is not supported/,
      'refuse_lstm_input_forget.onnx': /the attribute input_forget is not supported/,
    };
    assert.deepEqual(onnxFiles(/^refuse_/), Object.keys(refusals).sort());
    for (const [file, message] of Object.entries(refusals))
      assert.throws(() => importModel(path.join(DIR, file)), message, file);
  });

  it("torch nn.LSTM and nn.GRU (1 and 2 layers, batch_first both ways, bidirectional, last state) convert with their own input as calibration; int8 within 5% of torch's output range", () => {
    const torchCases = onnxFiles(/^torch_/);
    assert.equal(torchCases.length, 10);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-recurrent-'));
    try {
      for (const file of torchCases) {
        const ref = JSON.parse(fs.readFileSync(path.join(DIR, file.replace('.onnx', '.json')), 'utf8'));
        const calib = path.join(tmp, 'calib.json');
        fs.writeFileSync(calib, JSON.stringify([ref.input.data]));
        const { source, model } = compileGraph(importModel(path.join(DIR, file)), { calib, quiet: true });
        const x = toStoredLayout(source, source.inputs[0], Float32Array.from(ref.input.data));
        const yf = fromStoredLayout(
          source,
          source.outputs[0],
          Object.values(runFloat(source, { [source.inputs[0]]: x }))[0],
        );
        const y = fromStoredLayout(
          source,
          source.outputs[0],
          dequantizeOutput(model, runInt8(model, [quantizeInput(model, x)])[0]),
        );
        const want: number[] = ref.output.data;
        const range = Math.max(...want) - Math.min(...want);
        assert.equal(y.length, want.length, file);
        const floatWorst = Math.max(...Array.from(yf, (v, i) => Math.abs(v - want[i])));
        assert.ok(floatWorst <= 1e-5 * range, `${file}: float differs from torch by ${floatWorst}`);
        const worst = Math.max(...Array.from(y, (v, i) => Math.abs(v - want[i])));
        assert.ok(worst <= 0.05 * range, `${file}: int8 differs from torch by ${worst} (range ${range})`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
