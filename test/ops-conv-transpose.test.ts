// ConvTranspose (issue 15) as TRANSPOSE_CONV: one-op ONNX graphs over the spec's attribute combinations (strides,
// pads, output_padding, dilations, group, output_shape, auto_pad, 1-D) against onnxruntime, torch modules with
// torch's own tensors through `morsel convert/run`, the int8 blobs bit-exact on every engine, and the TFLite export
// against TFLite's own TRANSPOSE_CONV kernel. The models come from test/fixtures/ops/make_ops_models.py.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { exportTflite } from '../host/export/tflite';
import { importModel } from '../host/import';
import { readTflite } from '../host/import/tflite/reader';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { ModelError, numel } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { loadTfliteOracle } from './helpers/tflite-oracle';
import {
  assertBitExactOnEngines,
  assertFloatMatchesOnnxruntime,
  engineJob,
  fixtureNpy,
  floatInSourceLayout,
  importSequential,
  int8Model,
  OPS_FIXTURES,
  onnxFixtures,
  runWithinTorchRange,
  uniform,
  worstDiff,
} from './helpers/ops-fixtures';

const FIX = OPS_FIXTURES;
const onnxFiles = onnxFixtures;

describe('ConvTranspose as TRANSPOSE_CONV', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-ops-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses an output_padding the spec does not allow with one line naming it', () => {
    assert.throws(
      () => importModel(path.join(FIX, 'bad_convtranspose_output_padding.onnx')),
      (e: unknown) =>
        e instanceof ModelError &&
        /\(ConvTranspose\): output_padding \[2,0\] must be 2 values below the strides or dilations/.test(e.message) &&
        !e.message.includes('\n'),
    );
  });

  it('every one-op model (strides, pads, output_padding, dilations, group, output_shape, auto_pad, 1-D) matches onnxruntime', async () => {
    const files = onnxFiles('op_convtranspose');
    assert.ok(files.length >= 21, `${files.length} one-op models`);
    await assertFloatMatchesOnnxruntime(files, 25);
  });

  it("torch's ConvTranspose2d/1d decoders take torch's own tensor: float within 1e-4, `morsel run` int8 within 5% of the range", async () => {
    const files = onnxFiles('torch_conv_transpose');
    assert.equal(files.length, 2);
    for (const f of files) {
      const want = fixtureNpy(f.replace('.onnx', '.output.npy'));
      const g = importModel(path.join(FIX, f));
      for (const graph of [g, { ...toDeviceGraph(g), meta: g.meta }]) {
        const worst = worstDiff(
          floatInSourceLayout(graph, fixtureNpy(f.replace('.onnx', '.input.npy')).data),
          want.data,
        );
        assert.ok(worst <= 1e-4, `${f}: float differs from torch by ${worst}`);
      }
      await runWithinTorchRange(f.replace('.onnx', ''), tmp);
    }
  });

  it('the int8 blobs of every one-op and torch model run bit-exactly on every engine', async () => {
    const rng = new Rng(7);
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const f of [...onnxFiles('op_convtranspose'), ...onnxFiles('torch_conv_transpose')]) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = Array.from({ length: 8 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
      const model = int8Model(d, samples);
      assert.ok(
        model.ops.some((op) => op.opcode === 'TRANSPOSE_CONV'),
        f,
      );
      jobs.push(engineJob(f, model, samples));
    }
    await assertBitExactOnEngines(jobs);
  });

  it('TF.js Conv2DTranspose (valid, same, strides, bias, activation) matches TF.js, bit-exact on every engine', async () => {
    const tf = await import('@tensorflow/tfjs');
    const rng = new Rng(21);
    const models = [
      [
        tf.layers.conv2dTranspose({ inputShape: [5, 4, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.conv2dTranspose({ filters: 2, kernelSize: [2, 3], strides: [1, 2], activation: 'relu' }),
      ],
      [
        tf.layers.conv2dTranspose({ inputShape: [3, 6, 2], filters: 3, kernelSize: 4, strides: 2, padding: 'valid' }),
        tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3, padding: 'same', useBias: false }),
      ],
    ];
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const layers of models) {
      const m = tf.sequential({ layers });
      const g = importSequential(m);
      const inShape = g.tensors.get(g.inputs[0])!.shape;
      const xs = Array.from({ length: 8 }, () => uniform(numel(inShape), rng));
      for (const x of xs.slice(0, 3)) {
        const want = (m.predict(tf.tensor(x, inShape)) as import('@tensorflow/tfjs').Tensor).dataSync();
        const got = Object.values(runFloat(g, { [g.inputs[0]]: x }))[0];
        assert.ok(got.length === want.length && worstDiff(got, want) <= 1e-4, `${m.name}: differs from TF.js`);
      }
      const model = int8Model(toDeviceGraph(g), xs);
      assert.equal(model.ops.filter((op) => op.opcode === 'TRANSPOSE_CONV').length, 2);
      jobs.push(engineJob(m.name, model, xs));
    }
    await assertBitExactOnEngines(jobs);
  });

  it("TRANSPOSE_CONV exports to TFLite (SAME/VALID, no dilation) and TFLite's own kernel gives the same bytes; the rest is refused naming why", async () => {
    const oracle = await loadTfliteOracle();
    const rng = new Rng(9);
    const exported: string[] = [];
    const refused: string[] = [];
    for (const f of onnxFiles('op_convtranspose2d')) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = Array.from({ length: 4 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
      const model = int8Model(d, samples);
      let bytes: Uint8Array;
      try {
        bytes = exportTflite(model);
      } catch (e) {
        assert.ok(
          e instanceof ModelError && /dilated|neither TFLite's SAME nor VALID/.test(e.message),
          `${f}: ${(e as Error).message}`,
        );
        refused.push(f);
        continue;
      }
      exported.push(f);
      const again = tfliteToQModel(readTflite(bytes, f));
      // Through JSON: a calibrated zero point may be −0, which the .tflite holds as 0.
      const opsOf = (m: QModel) => JSON.parse(JSON.stringify(m.ops.map((op) => [op.opcode, op.options])));
      assert.deepEqual(opsOf(again), opsOf(model));
      for (const x of samples.map((s) => quantizeInput(model, s)))
        assert.deepEqual(oracle.run(bytes, [x]), runInt8(model, [x]), f);
    }
    assert.ok(exported.length >= 4 && refused.length >= 4, `exported ${exported}, refused ${refused}`);
  });
});
