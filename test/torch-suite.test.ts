// The torch suite (issue 15): torch 1.13 modules and 12 small models exported at opset 13 with seeded random weights
// (tools/torch-suite.py, and the op fixtures' torch modules gathered by tools/torch-suite-fixtures.ts), each with
// torch's own input and output. Every one: the float path matches onnxruntime and torch; `morsel convert` with its
// own calibration and `morsel run --input` on torch's tensor give an int8 output within 5% of torch's output range;
// the blob runs bit-exactly on every engine, all blobs in one process per engine. The models' int8 top-1 agreement
// with float on 500 inputs is `npm run suite:torch` (tools/torch-suite.ts): 10 models × 500 inputs on the host int8
// reference take minutes.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../host/blob/decode';
import { writeNpy } from '../host/data/npy';
import { importModel } from '../host/import';
import { fromStoredLayout, toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { type Graph, numel } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { morselInProcess } from './helpers/cli-in-process';
import { assertBitExactOnEngines } from './helpers/ops-fixtures';
import { suiteSample, type TorchCase, torchModels, torchModules } from '../tools/torch-suite-fixtures';

const MODULES = torchModules();
const MODELS = torchModels();
const ROOT = path.join(__dirname, '..', '..');
const ZOO = ['fashion_conv1d', 'fashion_attention'];

/** The graph's float output for `x` in the source layout, returned in the source layout. */
function floatInSourceLayout(g: Graph, x: Float32Array): Float32Array {
  const y = Object.values(runFloat(g, { [g.inputs[0]]: toStoredLayout(g, g.inputs[0], x) }))[0];
  return fromStoredLayout(g, g.outputs[0], y);
}

const relativeError = (got: ArrayLike<number>, want: ArrayLike<number>) =>
  Math.max(...Array.from(want, (w, i) => Math.abs(got[i] - w) / (1 + Math.abs(w))));

interface Converted {
  c: TorchCase;
  graph: Graph;
  model: QModel;
  blob: Uint8Array;
}

describe('torch suite (issue 15): torch modules and 12 small models from PyTorch 1.13 at opset 13', function () {
  this.timeout(240000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-torch-suite-'));
  const converted: Converted[] = [];
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('gathers ≥ 20 modules and the 12 models', () => {
    const names = MODULES.map((c) => c.name);
    assert.ok(MODULES.length >= 20, `${MODULES.length} modules`);
    for (const module of [
      'batchnorm2d',
      'batchnorm1d',
      'batchnorm3d',
      'torch_ceil_pool',
      'conv1d_pools',
      'lstm',
      'gru',
    ])
      assert.ok(names.includes(module), module);
    assert.deepEqual(MODELS.map((c) => c.name).sort(), [
      'conv1d',
      'ds_cnn',
      'gru',
      'lenet',
      'lstm',
      'mlp',
      'mobilenet_v2',
      'mobilenet_v3_small',
      'resnet18',
      'shufflenet_v2',
      'squeezenet',
      'transformer',
    ]);
  });

  it('every float graph matches torch on its input and onnxruntime on it and on 2 suite samples, to 1e-4 relative', async () => {
    const rng = new Rng(15);
    for (const c of [...MODULES, ...MODELS]) {
      const g = importModel(c.onnx);
      assert.ok(relativeError(floatInSourceLayout(g, c.input.data), c.output.data) <= 1e-4, `${c.name} vs torch`);
      const session = await ort.InferenceSession.create(c.onnx);
      for (const x of [c.input.data, suiteSample(c.input.shape, rng), suiteSample(c.input.shape, rng)]) {
        const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, c.input.shape) });
        const want = r[session.outputNames[0]].data as Float32Array;
        const got = floatInSourceLayout(g, x);
        assert.equal(got.length, want.length, c.name);
        const worst = relativeError(got, want);
        assert.ok(worst <= 1e-4, `${c.name}: float differs from onnxruntime by ${worst}`);
      }
    }
  });

  it("`morsel convert` with its own calibration, then `morsel run --input` on torch's tensor: int8 within 5% of torch's output range", async () => {
    const rng = new Rng(16);
    const worstShare: string[] = [];
    for (const c of [...MODULES, ...MODELS]) {
      const input = path.join(tmp, `${c.name}.input.npy`);
      fs.writeFileSync(input, writeNpy(c.input.shape, c.input.data));
      // A module calibrates on its own input; a model on it and 31 more samples of the suite's distribution.
      let calib = input;
      if (MODELS.includes(c)) {
        calib = path.join(tmp, `${c.name}.calib.json`);
        const samples = [c.input.data, ...Array.from({ length: 31 }, () => suiteSample(c.input.shape, rng))];
        fs.writeFileSync(calib, JSON.stringify(samples.map((x) => Array.from(x))));
      }
      const file = path.join(tmp, `${c.name}.msl`);
      await morselInProcess('convert', c.onnx, '--calib', calib, '-o', file, '-q');
      const run = JSON.parse(await morselInProcess('run', file, '--input', input, '--json'));
      assert.deepEqual(run.shape, c.output.shape, c.name);
      const want = c.output.data;
      const range = Math.max(...want) - Math.min(...want);
      const worst = Math.max(...run.dequantized.map((v: number, k: number) => Math.abs(v - want[k])));
      assert.ok(worst <= 0.05 * range, `${c.name}: int8 differs from torch by ${worst} (output range ${range})`);
      worstShare.push(`${c.name} ${((100 * worst) / range).toFixed(2)}%`);
      const blob = new Uint8Array(fs.readFileSync(file));
      converted.push({ c, graph: importModel(c.onnx), model: decodeModel(blob), blob });
    }
    console.log(`      int8 error / torch's output range: ${worstShare.join(', ')}`);
  });

  it("every blob, and the zoo's Conv1D and attention blobs, runs bit-exactly on every engine (one process per engine)", async function () {
    assert.equal(converted.length, MODULES.length + MODELS.length, 'the conversion test ran');
    const rng = new Rng(17);
    const jobs = converted.map(({ c, graph, model, blob }) => ({
      name: c.name,
      model,
      blob,
      inputs: [c.input.data, suiteSample(c.input.shape, rng)].map((x) =>
        quantizeInput(model, toStoredLayout(graph, graph.inputs[0], x)),
      ),
    }));
    // The zoo's Conv1D and attention entries (models/fashion_conv1d, models/fashion_attention) ride along.
    for (const name of ZOO) {
      const blob = new Uint8Array(fs.readFileSync(path.join(ROOT, 'models', name, 'model.msl')));
      const model = decodeModel(blob);
      const n = numel(model.tensors[model.inputs[0]].shape);
      jobs.push({
        name,
        model,
        blob,
        inputs: [0, 1].map(() => Int8Array.from({ length: n }, () => rng.int(-128, 127))),
      });
    }
    await assertBitExactOnEngines(jobs);
  });
});
