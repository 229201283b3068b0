// Issue 15, LSTM and GRU: ONNX LSTM/GRU unrolled on the host into the device's existing int8 kernels
// (host/import/recurrent.ts). One-op models over the attribute combinations from
// test/fixtures/onnx/recurrent/make_recurrent_ops.py: the float path against onnxruntime on random inputs, the
// int8 path against float, every blob bit-exact on every engine against the host int8 reference; torch's nn.LSTM
// and nn.GRU modules (make_torch_recurrent.py) with their own input as calibration against torch's output; the
// refusals naming the attribute.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { encodeModel } from '../host/blob/encode';
import { importModel } from '../host/import';
import { fromStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { tensor } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { dequantizeOutput, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import {
  assertBitExactOnEngines,
  assertTorchJsonCasesWithinRange,
  type ModelCase,
  normalSamples,
  int8Model,
} from './helpers/ops-fixtures';

const DIR = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx', 'recurrent');
const onnxFiles = (prefix: RegExp) =>
  fs
    .readdirSync(DIR)
    .filter((f) => prefix.test(f) && f.endsWith('.onnx'))
    .sort();
const OPS = onnxFiles(/^(lstm|gru)_/);

/** Writes a TF.js layers model as model.json + weights.bin in `dir`; returns model.json's path. */
async function saveTfjs(model: tf.LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const manifest = [{ paths: ['weights.bin'], weights: a.weightSpecs }];
      const json = { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: manifest };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!)));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

/**
 * Keras' LSTM (return_sequences, go_backwards, sigmoid gates) into GRU (hard_sigmoid gates, the final state) into
 * Dense, and a GRU with reset_after (Keras 2's default, which TF.js itself cannot run) edited into the same file.
 */
function tfjsRecurrentModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.randomNormal({ stddev: 0.5, seed });
  const model = tf.sequential();
  model.add(
    tf.layers.lstm({
      inputShape: [6, 5],
      units: 8,
      returnSequences: true,
      goBackwards: true,
      recurrentActivation: 'sigmoid',
      kernelInitializer: init(1),
      recurrentInitializer: init(2),
      biasInitializer: init(3),
    }),
  );
  model.add(
    tf.layers.gru({ units: 6, kernelInitializer: init(4), recurrentInitializer: init(5), biasInitializer: init(6) }),
  );
  model.add(tf.layers.dense({ units: 3, kernelInitializer: init(7) }));
  return model;
}

describe('LSTM and GRU (issue 15): unrolled into int8 kernels, ONNX and torch', function () {
  this.timeout(120000);
  const cases: ModelCase[] = [];

  const tfjsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-recurrent-tfjs-'));
  let tfjsModel: tf.LayersModel;
  /** The TF.js model's case, run on the engines with the ONNX ones. */
  const tfjsCases: ModelCase[] = [];
  after(() => fs.rmSync(tfjsDir, { recursive: true, force: true }));

  before(async () => {
    tfjsModel = tfjsRecurrentModel();
    const graph = importModel(await saveTfjs(tfjsModel, tfjsDir));
    const d = toDeviceGraph(graph);
    const xs = normalSamples([1, 6, 5], 32, 5);
    const model = int8Model(d, xs);
    tfjsCases.push({ file: 'tfjs', graph, model, inputs: xs.slice(0, 3).map((x) => quantizeInput(model, x)) });
    for (const file of OPS) {
      const graph = importModel(path.join(DIR, file));
      const d = toDeviceGraph(graph);
      const xs = normalSamples(tensor(graph, graph.inputs[0]).shape, 32, 7);
      const model = int8Model(d, xs);
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
      for (const x of normalSamples(shape, 3, 11)) {
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

  it('the int8 reference stays within 5% of the output range of float (over the test inputs)', () => {
    for (const { file, graph, model, inputs } of [...cases, ...tfjsCases]) {
      const d = toDeviceGraph(graph);
      const input = model.tensors[model.inputs[0]];
      const runs = inputs.map((xq) => {
        const x = Float32Array.from(xq, (q) => input.scale[0] * (q - input.zeroPoint[0]));
        return {
          yf: Object.values(runFloat(d, { [d.inputs[0]]: x }))[0],
          yq: dequantizeOutput(model, runInt8(model, [xq])[0]),
        };
      });
      const all = runs.flatMap((r) => Array.from(r.yf));
      const range = Math.max(...all) - Math.min(...all);
      const worst = Math.max(...runs.flatMap(({ yf, yq }) => Array.from(yf, (v, i) => Math.abs(v - yq[i]))));
      assert.ok(worst <= 0.05 * range, `${file}: int8 differs from float by ${worst} (range ${range})`);
    }
  });

  it('every blob runs bit-exactly on every engine (one process per engine)', async function () {
    this.timeout(300000);
    // The zoo's committed LSTM and GRU blobs (28 steps, 64 units) too, on one input each.
    const zoo = ['fashion_lstm', 'fashion_gru'].map((name) => {
      const blob = new Uint8Array(fs.readFileSync(path.join(__dirname, '..', '..', 'models', name, 'model.msl')));
      const rng = new Rng(23);
      return {
        name,
        model: decodeModel(blob),
        blob,
        inputs: [Int8Array.from({ length: 784 }, () => rng.int(-128, 127))],
      };
    });
    await assertBitExactOnEngines([
      ...[...cases, ...tfjsCases].map((c) => ({
        name: c.file,
        model: c.model,
        blob: encodeModel(c.model),
        inputs: c.inputs,
      })),
      ...zoo,
    ]);
  });

  it('a weight every time step reads is stored once', () => {
    const { model } = cases.find((c) => c.file === 'lstm_forward.onnx')!;
    const fc = model.ops.filter((op) => op.opcode === 'FULLY_CONNECTED');
    // The input projection of all steps, then one recurrent product per step after the first.
    assert.equal(fc.length, 5);
    assert.equal(new Set(fc.slice(1).map((op) => op.inputs[1])).size, 1);
  });

  it('TF.js LSTM (return_sequences, go_backwards, sigmoid) and GRU (hard_sigmoid) match tf.predict', () => {
    const { graph } = tfjsCases[0];
    for (const x of normalSamples([1, 6, 5], 4, 13)) {
      const want = (tfjsModel.predict(tf.tensor3d(x, [1, 6, 5])) as tf.Tensor).dataSync();
      const got = runFloat(graph, { [graph.inputs[0]]: x })[graph.outputs[0]];
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-5, `${i}: ${v} vs ${want[i]}`));
    }
  });

  it("TF.js GRU with reset_after (Keras 2's default, which TF.js itself cannot run) matches Keras' formula", async () => {
    const gru = tf.sequential();
    const init = (seed: number) => tf.initializers.randomNormal({ stddev: 0.5, seed });
    gru.add(tf.layers.gru({ inputShape: [6, 5], units: 4, kernelInitializer: init(8), recurrentInitializer: init(9) }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-recurrent-gru-'));
    try {
      const file = await saveTfjs(gru, dir);
      // Keras' reset_after bias is [2, 3·units]: the input bias, then the recurrent bias (appended: the last weight).
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      json.modelTopology.config.layers[0].config.reset_after = true;
      json.weightsManifest[0].weights[2].shape = [2, 12];
      const rng = new Rng(17);
      const [K, R, B] = gru.getWeights().map((w) => w.dataSync() as Float32Array);
      const bias = Float32Array.from([...B.map(() => rng.normal()), ...B.map(() => rng.normal())]);
      fs.writeFileSync(file, JSON.stringify(json));
      const stored = fs.readFileSync(path.join(dir, 'weights.bin'));
      fs.writeFileSync(
        path.join(dir, 'weights.bin'),
        Buffer.concat([stored.subarray(0, stored.length - 48), Buffer.from(bias.buffer)]),
      );
      const g = importModel(file);
      const hardSigmoid = (v: number) => Math.min(1, Math.max(0, 0.2 * v + 0.5));
      for (const x of normalSamples([1, 6, 5], 3, 19)) {
        let h = new Float32Array(4);
        for (let t = 0; t < 6; t++) {
          // Gate g of unit j: x·W + b_in and h·R + b_rec (the reset gate scales the latter for the candidate).
          const input = (g: number, j: number) =>
            x.subarray(t * 5, t * 5 + 5).reduce((acc, v, i) => acc + v * K[i * 12 + g * 4 + j], bias[g * 4 + j]);
          const recurrent = (g: number, j: number) =>
            h.reduce((acc, v, i) => acc + v * R[i * 12 + g * 4 + j], bias[12 + g * 4 + j]);
          h = Float32Array.from(h, (hj, j) => {
            const z = hardSigmoid(input(0, j) + recurrent(0, j));
            const r = hardSigmoid(input(1, j) + recurrent(1, j));
            return z * hj + (1 - z) * Math.tanh(input(2, j) + r * recurrent(2, j));
          });
        }
        const got = runFloat(g, { [g.inputs[0]]: x })[g.outputs[0]];
        got.forEach((v, i) => assert.ok(Math.abs(v - h[i]) <= 1e-5, `reset_after ${i}: ${v} vs ${h[i]}`));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
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
    assertTorchJsonCasesWithinRange(DIR, torchCases, 1e-5);
  });
});
