// Spatial ops (issue 15): 1-D convolution and pooling as TFLM runs them (2-D with H = 1), pooling's ceil_mode,
// count_include_pad and auto_pad, global max pooling, and data in the source model's layout (NCL / NCHW). The models
// come from test/fixtures/spatial/make_spatial_models.py: one-op graphs over the attribute combinations of the ONNX
// spec, and torch modules with torch's own input and output tensors.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { exportTflite } from '../host/export/tflite';
import { readTflite } from '../host/import/tflite/reader';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { compileGraph } from '../host/compile';
import { parseNpy } from '../host/data/npy';
import { importModel } from '../host/import';
import { fromStoredLayout, sourceShape, toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, ModelError, numel } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { dequantizeOutput, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { morselInProcess } from './helpers/cli-in-process';
import { assertBitExactOnEngines, engineJob, importSequential, int8Model } from './helpers/ops-fixtures';
import { loadTfliteOracle } from './helpers/tflite-oracle';

const FIX = path.join(__dirname, '..', '..', 'test', 'fixtures', 'spatial');
const onnxFiles = (prefix: string) =>
  fs
    .readdirSync(FIX)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.onnx'))
    .sort();
const npy = (file: string) => {
  const a = parseNpy(fs.readFileSync(path.join(FIX, file)), file);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
};
const uniform = (n: number, rng: Rng) => Float32Array.from({ length: n }, () => rng.next() * 4 - 2);

/** The graph's float output for `x` in the source (ONNX) layout, returned in the source layout. */
function floatInSourceLayout(g: Graph, x: Float32Array): Float32Array {
  const y = Object.values(runFloat(g, { [g.inputs[0]]: toStoredLayout(g, g.inputs[0], x) }))[0];
  return fromStoredLayout(g, g.outputs[0], y);
}

async function onnxruntime(file: string, x: Float32Array, shape: number[]) {
  const session = await ort.InferenceSession.create(file);
  const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  const y = r[session.outputNames[0]];
  return { dims: y.dims as number[], data: y.data as Float32Array };
}

describe('spatial ops: 1-D windows, ceil-mode pooling, layouts at the boundary', () => {
  it('refuses what TFLM cannot run with one line naming the attribute', () => {
    const refusals: Record<string, RegExp> = {
      'bad_maxpool_dilations.onnx': /\(MaxPool\): dilations \[2,2\] are not supported/,
      'bad_resize_half_pixel_floor.onnx':
        /\(Resize\): coordinate_transformation_mode 'half_pixel' with nearest_mode 'floor' picks pixels TFLite's RESIZE_NEAREST_NEIGHBOR does not/,
      'bad_pad_reflect_large.onnx': /\(Pad\): reflect pads \[0,7,0,0\] must be smaller than the dimensions \[1,7\]/,
    };
    assert.deepEqual(onnxFiles('bad_'), Object.keys(refusals).sort());
    for (const [f, why] of Object.entries(refusals))
      assert.throws(
        () => importModel(path.join(FIX, f)),
        (e: unknown) => e instanceof ModelError && why.test(e.message) && !e.message.includes('\n'),
        f,
      );
  });

  it('every one-op model (Conv 1-D, Max/AveragePool 1-D and 2-D, global pools, Gemm) matches onnxruntime', async () => {
    const files = onnxFiles('op_');
    assert.ok(files.length >= 40, `${files.length} one-op models`);
    const rng = new Rng(15);
    for (const f of files) {
      const g = importModel(path.join(FIX, f));
      const shape = sourceShape(g, g.inputs[0]);
      for (let i = 0; i < 3; i++) {
        const x = uniform(numel(shape), rng);
        const want = await onnxruntime(path.join(FIX, f), x, shape);
        const got = floatInSourceLayout(g, x);
        assert.equal(got.length, want.data.length, `${f}: ${got.length} outputs, onnxruntime [${want.dims}]`);
        const worst = Math.max(...Array.from(got, (v, k) => Math.abs(v - want.data[k])));
        assert.ok(worst <= 1e-5, `${f}: differs from onnxruntime by ${worst}`);
      }
    }
  });

  it("torch modules (Conv1d, BatchNorm1d, 1-D and ceil-mode pools) take torch's own NCL/NCHW tensor and match it", () => {
    for (const f of onnxFiles('torch_')) {
      const x = npy(f.replace('.onnx', '.input.npy'));
      const want = npy(f.replace('.onnx', '.output.npy'));
      const g = importModel(path.join(FIX, f));
      assert.deepEqual(sourceShape(g, g.outputs[0]), want.shape, `${f}: output shape`);
      for (const graph of [g, { ...toDeviceGraph(g), meta: g.meta }]) {
        const got = floatInSourceLayout(graph, x.data);
        const worst = Math.max(...Array.from(got, (v, k) => Math.abs(v - want.data[k])));
        assert.ok(worst <= 1e-4, `${f}: float differs from torch by ${worst}`);
      }
      // int8, calibrated on torch's tensor and noisy copies of it (as `convert --calib x.npy` reads them: NCL/NCHW).
      const rng = new Rng(3);
      const calib = [x.data, ...Array.from({ length: 15 }, () => x.data.map((v) => v + 0.1 * rng.normal()))];
      const { source, model } = compileGraph(g, { calib: writeJson(calib), quiet: true });
      const stored = toStoredLayout(source, source.inputs[0], x.data);
      const y = fromStoredLayout(
        source,
        source.outputs[0],
        dequantizeOutput(model, runInt8(model, [quantizeInput(model, stored)])[0]),
      );
      const range = Math.max(...want.data) - Math.min(...want.data);
      const worst = Math.max(...Array.from(y, (v, k) => Math.abs(v - want.data[k])));
      assert.ok(worst <= 0.05 * range, `${f}: int8 differs from torch by ${worst} (output range ${range})`);
    }
  });

  it("morsel convert --calib / run --input / inspect take and give torch's NCL and NCHW tensors as they are", async () => {
    for (const name of ['torch_conv1d_features', 'torch_ceil_pool']) {
      const [model, input] = [path.join(FIX, `${name}.onnx`), path.join(FIX, `${name}.input.npy`)];
      const want = npy(`${name}.output.npy`);
      const blob = path.join(tmp, `${name}.msl`);
      await morselInProcess('convert', model, '--calib', input, '-o', blob, '-q');
      const layout = name.includes('1d') ? 'NCL' : 'NCHW';
      const report = JSON.parse(await morselInProcess('inspect', blob, '--json'));
      assert.deepEqual(
        [report.inputs[0].source_shape, report.inputs[0].source_layout, report.outputs[0].source_layout],
        [npy(`${name}.input.npy`).shape, layout, layout],
      );
      const run = JSON.parse(await morselInProcess('run', blob, '--input', input, '--json'));
      assert.deepEqual(run.shape, want.shape);
      const range = Math.max(...want.data) - Math.min(...want.data);
      const worst = Math.max(...run.dequantized.map((v: number, k: number) => Math.abs(v - want.data[k])));
      assert.ok(worst <= 0.05 * range, `${name}: morsel run differs from torch by ${worst} (output range ${range})`);
    }
  });

  it('TF.js Conv1D (its BatchNormalization folded), MaxPooling1D, AveragePooling1D and global 1-D pooling match TF.js, bit-exact on every engine', async () => {
    const tf = await import('@tensorflow/tfjs');
    const rng = new Rng(21);
    const models = [
      [
        tf.layers.conv1d({ inputShape: [20, 3], filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling1d({ poolSize: 2 }),
        tf.layers.conv1d({ filters: 6, kernelSize: 3, dilationRate: 2 }),
        tf.layers.averagePooling1d({ poolSize: 3, strides: 1, padding: 'same' }),
        tf.layers.conv1d({ filters: 4, kernelSize: 2, strides: 2, useBias: false }),
        tf.layers.globalAveragePooling1d(),
        tf.layers.dense({ units: 3 }),
      ],
      [
        tf.layers.conv1d({ inputShape: [11, 2], filters: 4, kernelSize: 4, strides: 3, padding: 'same' }),
        tf.layers.globalMaxPooling1d(),
      ],
      // BatchNormalization after Conv1D folds into the CONV_2D through the importer's reshape back to 1-D.
      [
        tf.layers.conv1d({ inputShape: [12, 3], filters: 5, kernelSize: 3, useBias: false }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.maxPooling1d({ poolSize: 2 }),
        tf.layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    ];
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const layers of models) {
      const m = tf.sequential({ layers });
      for (const bn of m.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
        const C = bn.getWeights()[0].shape[0];
        const stats = [0.5, -1, -1, 0.2].map((lo, i) =>
          Float32Array.from({ length: C }, () => lo + rng.next() * (i ? 2 : 1.5)),
        );
        bn.setWeights(stats.map((v) => tf.tensor1d(v)));
      }
      const g = importSequential(m);
      const inShape = g.tensors.get(g.inputs[0])!.shape;
      const xs = Array.from({ length: 8 }, () => uniform(numel(inShape), rng));
      for (const x of xs.slice(0, 3)) {
        const want = (m.predict(tf.tensor(x, inShape)) as import('@tensorflow/tfjs').Tensor).dataSync();
        for (const graph of [g, toDeviceGraph(g)]) {
          const got = Object.values(runFloat(graph, { [graph.inputs[0]]: x }))[0];
          const worst = Math.max(...Array.from(got, (v, k) => Math.abs(v - want[k])));
          assert.ok(got.length === want.length && worst <= 1e-4, `${m.name}: differs from TF.js by ${worst}`);
        }
      }
      const d = toDeviceGraph(g);
      if (m.layers.some((l) => l.getClassName() === 'BatchNormalization'))
        assert.deepEqual(
          d.nodes.filter((n) => ['batchnorm', 'mul', 'add'].includes(n.op.kind)),
          [],
          'every batch-norm folds into its Conv1D',
        );
      const model = int8Model(d, xs);
      jobs.push(engineJob(m.name, model, xs));
    }
    await assertBitExactOnEngines(jobs);
  });

  it("MIRROR_PAD REFLECT and RESIZE_NEAREST_NEIGHBOR export to TFLite, re-import to the same op, and TFLite's own kernels give the same bytes", async () => {
    const oracle = await loadTfliteOracle();
    const rng = new Rng(9);
    for (const f of [...onnxFiles('op_pad_reflect'), ...onnxFiles('op_resize'), ...onnxFiles('op_upsample')]) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const n = numel(d.tensors.get(d.inputs[0])!.shape);
      const samples = Array.from({ length: 4 }, () => uniform(n, rng));
      const model = int8Model(d, samples);
      const exported = exportTflite(model);
      const again = tfliteToQModel(readTflite(exported, f));
      assert.deepEqual(
        again.ops.map((op) => [op.opcode, op.options]),
        model.ops.map((op) => [op.opcode, op.options]),
      );
      for (const x of samples.map((s) => quantizeInput(model, s)))
        assert.deepEqual(oracle.run(exported, [x]), runInt8(model, [x]), f);
    }
  });

  it('the int8 blobs of every one-op and torch model run bit-exactly on every engine', async () => {
    const rng = new Rng(7);
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const f of [...onnxFiles('op_'), ...onnxFiles('torch_')]) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const n = numel(d.tensors.get(d.inputs[0])!.shape);
      const samples = Array.from({ length: 8 }, () => uniform(n, rng));
      const model = int8Model(d, samples);
      jobs.push(engineJob(f, model, samples));
    }
    const opcodes = new Set(jobs.flatMap((j) => j.model.ops.map((o) => o.opcode)));
    for (const op of [
      'CONV_2D',
      'DEPTHWISE_CONV_2D',
      'MAX_POOL_2D',
      'AVERAGE_POOL_2D',
      'MEAN',
      'PAD',
      'FULLY_CONNECTED',
      'ADD',
      'MIRROR_PAD',
      'RESIZE_NEAREST_NEIGHBOR',
    ])
      assert.ok(opcodes.has(op as never), op);
    await assertBitExactOnEngines(jobs);
  });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-spatial-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
/** Samples as a JSON calibration file (`--calib`): each in the source layout, as the user holds it. */
function writeJson(samples: Float32Array[]): string {
  const file = path.join(tmp, `calib-${fs.readdirSync(tmp).length}.json`);
  fs.writeFileSync(file, JSON.stringify(samples.map((x) => Array.from(x))));
  return file;
}
