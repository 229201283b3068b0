// Bilinear Resize (issue 15) as RESIZE_BILINEAR: one-op ONNX graphs (Resize opsets 10–17 and Upsample 7/9 'linear',
// every coordinate transformation TFLite has, by scales and sizes) against onnxruntime, torch's bilinear Upsample
// with torch's own tensors through `morsel convert/run`, every int8 blob bit-exact on every engine, kernel cases at
// the int8 ends, and the TFLite export (full TFLite's kernel within one step). Fixtures: test/fixtures/ops/make_ops_models.py.

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
import { tfliteBilinearTaps } from '../host/interp/int8/resize-bilinear';
import { ModelError, numel } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { activation, describeKernelCases, hostOutputs, type KernelCase, kernelCase } from './helpers/kernel-runner';
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
const LINEAR = [...onnxFiles('op_resize_linear'), ...onnxFiles('op_upsample_linear')];

/** A one-op RESIZE_BILINEAR case from [1,h,w,c] to [1,oh,ow,c] under TFLite's two flags. */
function bilinearCase(
  name: string,
  hw: number[],
  out: number[],
  c: number,
  align: boolean,
  half: boolean,
  seed: number,
) {
  const options = {
    rows: tfliteBilinearTaps(hw[0], out[0], align, half),
    cols: tfliteBilinearTaps(hw[1], out[1], align, half),
    align_corners: align ? 1 : 0,
    half_pixel_centers: half ? 1 : 0,
  };
  const rounding = seed % 3 === 0 ? 'single' : 'double';
  return kernelCase(
    `${name} (${rounding})`,
    'RESIZE_BILINEAR',
    options,
    [activation('x', [1, hw[0], hw[1], c], 0.05, 3)],
    activation('y', [1, out[0], out[1], c], 0.05, 3),
    { rounding, seed },
  );
}

describe('TFLite integer bilinear taps (ComputeInterpolationValuesInteger)', () => {
  it('2× half-pixel upsampling of 4 rows: scale 512, the first row below 0 clamps to row 0 with its weight as is', () => {
    // scaled = o·512 + 256 − 512: −256, 256, 768, 1280, ...; lo = max(trunc(scaled/1024), 0), hi = trunc((s+1023)/1024).
    assert.deepEqual(tfliteBilinearTaps(4, 8, false, true).slice(0, 12), [0, 0, -256, 0, 1, 256, 0, 1, 768, 1, 2, 256]);
  });
  it('a golden output: rows 0 and 1 of [0, 100] halfway blend to 50; double rounding rounds −0.5 away from zero', () => {
    const c = kernelCase(
      'golden',
      'RESIZE_BILINEAR',
      { rows: [0, 1, 512], cols: [0, 0, 0], align_corners: 0, half_pixel_centers: 0 },
      [activation('x', [1, 2, 1, 2])],
      activation('y', [1, 1, 1, 2]),
      { values: [Int8Array.from([0, 0, 100, -1])] },
    );
    assert.deepEqual([...hostOutputs(c)[0]], [50, -1]);
  });
});

describeKernelCases('RESIZE_BILINEAR', () => {
  const cases: KernelCase[] = [];
  let seed = 700;
  for (const [align, half] of [
    [false, false],
    [false, true],
    [true, false],
  ])
    for (const [hw, out] of [
      [
        [4, 5],
        [8, 10],
      ],
      [
        [5, 4],
        [3, 7],
      ],
      [
        [1, 3],
        [2, 1],
      ],
    ])
      cases.push(bilinearCase(`${hw} to ${out}, align ${align}, half ${half}`, hw, out, 3, align, half, seed++));
  return cases;
});

describe('Resize / Upsample linear as RESIZE_BILINEAR', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-bilinear-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses a coordinate transformation TFLite has no bilinear form of, naming it', () => {
    assert.throws(
      () => importModel(path.join(FIX, 'bad_resize_linear_tf_half_pixel.onnx')),
      (e: unknown) =>
        e instanceof ModelError &&
        /\(Resize\): coordinate_transformation_mode 'tf_half_pixel_for_nn' is not supported for linear resizing/.test(
          e.message,
        ) &&
        !e.message.includes('\n'),
    );
  });

  it('every one-op model (half_pixel, pytorch_half_pixel, align_corners, asymmetric; scales, sizes; Resize-10, Upsample) matches onnxruntime', async () => {
    assert.ok(LINEAR.length >= 11, `${LINEAR.length} one-op models`);
    await assertFloatMatchesOnnxruntime(LINEAR, 26);
  });

  it("torch's bilinear Upsample (align_corners false and true) takes torch's own tensor: float within 1e-4, `morsel run` int8 within 5%", async () => {
    const g = importModel(path.join(FIX, 'torch_upsample_bilinear.onnx'));
    const x = fixtureNpy('torch_upsample_bilinear.input.npy').data;
    const worstFloat = worstDiff(floatInSourceLayout(g, x), fixtureNpy('torch_upsample_bilinear.output.npy').data);
    assert.ok(worstFloat <= 1e-4, `float differs from torch by ${worstFloat}`);
    await runWithinTorchRange('torch_upsample_bilinear', tmp);
  });

  it('the int8 blobs of every one-op model and the torch module run bit-exactly on every engine, in both roundings', async () => {
    const rng = new Rng(8);
    const jobs: ReturnType<typeof engineJob>[] = [];
    for (const f of [...LINEAR, 'torch_upsample_bilinear.onnx']) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = Array.from({ length: 8 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
      const model = int8Model(d, samples);
      assert.ok(
        model.ops.some((op) => op.opcode === 'RESIZE_BILINEAR'),
        f,
      );
      if (jobs.length % 2) model.rounding = 'single';
      jobs.push(engineJob(f, model, samples));
    }
    await assertBitExactOnEngines(jobs);
  });

  it('TF.js UpSampling2D (bilinear and nearest) matches TF.js, bit-exact on every engine', async () => {
    const tf = await import('@tensorflow/tfjs');
    const rng = new Rng(27);
    const m = tf.sequential({
      layers: [
        tf.layers.upSampling2d({ inputShape: [4, 3, 2], size: [2, 3], interpolation: 'bilinear' }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }),
        tf.layers.upSampling2d({ size: [2, 2] }),
      ],
    });
    const g = importSequential(m);
    const inShape = g.tensors.get(g.inputs[0])!.shape;
    const xs = Array.from({ length: 8 }, () => uniform(numel(inShape), rng));
    for (const x of xs.slice(0, 3)) {
      const want = (m.predict(tf.tensor(x, inShape)) as import('@tensorflow/tfjs').Tensor).dataSync();
      const got = Object.values(runFloat(g, { [g.inputs[0]]: x }))[0];
      assert.ok(got.length === want.length && worstDiff(got, want) <= 1e-4, 'differs from TF.js');
    }
    const model = int8Model(toDeviceGraph(g), xs);
    assert.deepEqual(
      model.ops.map((op) => op.opcode),
      ['RESIZE_BILINEAR', 'CONV_2D', 'RESIZE_NEAREST_NEIGHBOR'],
    );
    await assertBitExactOnEngines([engineJob(m.name, model, xs)]);
  });

  // TFLM runs reference_ops::ResizeBilinearInteger, which Morsel follows; full TFLite's optimized int8 kernel blends in
  // float, so the WebAssembly oracle is within one step of it, not equal (device/README.md).
  it("RESIZE_BILINEAR exports to TFLite, re-imports to the same op, and full TFLite's float-blending kernel is within one step", async () => {
    const oracle = await loadTfliteOracle();
    const rng = new Rng(10);
    for (const f of LINEAR) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = Array.from({ length: 4 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
      const model = int8Model(d, samples);
      model.rounding = 'tflite';
      const bytes = exportTflite(model);
      const again = tfliteToQModel(readTflite(bytes, f), { rounding: 'tflite' });
      const opsOf = (m: QModel) => JSON.parse(JSON.stringify(m.ops.map((op) => [op.opcode, op.options])));
      assert.deepEqual(opsOf(again), opsOf(model));
      for (const x of samples.map((s) => quantizeInput(model, s))) {
        const [tflite, morsel] = [oracle.run(bytes, [x])[0], runInt8(model, [x])[0]];
        assert.equal(tflite.length, morsel.length, f);
        assert.ok(
          tflite.every((v, i) => Math.abs(v - morsel[i]) <= 1),
          f,
        );
      }
    }
  });
});
