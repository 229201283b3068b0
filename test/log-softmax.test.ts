// LogSoftmax (issue 15) as LOG_SOFTMAX, TFLM's int8 kernel: one-op ONNX graphs at opsets 7–17 over the axes each
// allows against onnxruntime, torch's Linear → LogSoftmax(dim=-1) through `morsel convert/run`, the TFLite export
// read back, and one-op models over input scales, row lengths and roundings bit-exact on every engine. The models
// come from test/fixtures/ops/make_log_softmax_models.py.

import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import * as os from 'os';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { verifyBlob } from '../host/blob/verify';
import { exportTflite } from '../host/export/tflite';
import { importModel } from '../host/import';
import { sourceShape } from '../host/import/boundary';
import { loadTfliteOracle } from './helpers/tflite-oracle';
import { readTflite } from '../host/import/tflite/reader';
import { tfliteToQModel } from '../host/import/tflite/to-qmodel';
import { runInt8 } from '../host/interp/int8/interpreter';
import { numel } from '../host/ir/graph';
import type { LogSoftmaxOptions, QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { prepareRounding, type RoundingMode } from '../host/quantize/fixedpoint';
import { prepareLogSoftmax } from '../host/quantize/prepare';
import { quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { activation, describeKernelCases, hostOutputs, type KernelCase, kernelCase } from './helpers/kernel-runner';
import {
  fixtureNpy,
  floatInSourceLayout,
  int8Model,
  OPS_FIXTURES,
  onnxFixtures,
  runWithinTorchRange,
  uniform,
  worstDiff,
} from './helpers/ops-fixtures';

const OUTPUT = { scale: 16 / 256, zeroPoint: 127 };

function logSoftmaxCase(name: string, shape: number[], scale: number, rounding: RoundingMode, seed: number) {
  return kernelCase(
    name,
    'LOG_SOFTMAX',
    prepareLogSoftmax({ scale, zeroPoint: 0 }, OUTPUT, prepareRounding(rounding)),
    [activation('x', shape, scale, 0)],
    activation('y', shape, OUTPUT.scale, OUTPUT.zeroPoint),
    { rounding, seed },
  );
}

/** A converted model's int8 form calibrated on random inputs, with two of them quantized, as a kernel case. */
function modelCase(file: string, rng: Rng): KernelCase {
  const d = toDeviceGraph(importModel(path.join(OPS_FIXTURES, file)));
  const samples = Array.from({ length: 8 }, () => uniform(numel(d.tensors.get(d.inputs[0])!.shape), rng));
  const model = int8Model(d, samples);
  assert.ok(
    model.ops.some((op) => op.opcode === 'LOG_SOFTMAX'),
    file,
  );
  return { name: file, model, inputs: samples.slice(0, 2).map((x) => quantizeInput(model, x)) };
}

const modelFiles = () => [...onnxFixtures('op_logsoftmax'), ...onnxFixtures('torch_log_softmax')];

describe('LogSoftmax as LOG_SOFTMAX', function () {
  this.timeout(60000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-logsoftmax-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('every one-op model (opsets 7, 11, 13, 17; default, last and earlier axes) matches onnxruntime to 1e-5', async () => {
    const files = onnxFixtures('op_logsoftmax');
    assert.equal(files.length, 9);
    const rng = new Rng(27);
    for (const f of files) {
      const g = importModel(path.join(OPS_FIXTURES, f));
      const shape = sourceShape(g, g.inputs[0]);
      const session = await ort.InferenceSession.create(path.join(OPS_FIXTURES, f));
      for (let i = 0; i < 3; i++) {
        const x = Float32Array.from(uniform(numel(shape), rng), (v) => v * 4);
        const r = await session.run({ x: new ort.Tensor('float32', x, shape) });
        const got = floatInSourceLayout(g, x);
        assert.equal(got.length, r.y.data.length, f);
        const worst = worstDiff(got, r.y.data as Float32Array);
        assert.ok(worst <= 1e-5, `${f}: differs from onnxruntime by ${worst}`);
      }
    }
  });

  it('the int8 kernel: equal inputs give log(1/n); a value far above the rest gives 0 and the rest −128; all within 1.5 steps of the float', () => {
    const [y] = hostOutputs({
      ...logSoftmaxCase('golden', [2, 4], 0.5, 'double', 1),
      inputs: [Int8Array.from([7, 7, 7, 7, 100, -100, -100, -100])],
    });
    // log(1/4)·16 = −22.18 → 127 − 22 = 105; 0 → 127; −100 far below the 16-unit output range → −128.
    assert.deepEqual([...y], [105, 105, 105, 105, 127, -128, -128, -128]);
    const rng = new Rng(5);
    for (const scale of [0.01, 0.05, 0.2, 1]) {
      for (const rounding of ['double', 'single'] as const) {
        const c = logSoftmaxCase('float', [4, 12], scale, rounding, 2);
        const x = Int8Array.from({ length: 48 }, () => rng.int(-128, 127));
        const [q] = hostOutputs({ ...c, inputs: [x] });
        for (let r = 0; r < 4; r++) {
          const row = Array.from(x.subarray(r * 12, r * 12 + 12), (v) => v * scale);
          const max = Math.max(...row);
          const logSum = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
          row.forEach((v, k) => {
            const want = Math.max(v - max - logSum, -255 / 16);
            const got = (q[r * 12 + k] - 127) / 16;
            assert.ok(Math.abs(got - want) <= 1.5 / 16, `scale ${scale} ${rounding}: ${got} for ${want}`);
          });
        }
      }
    }
  });

  it('the verifier refuses tables the kernel cannot read and rows longer than 4095 values, naming the code', () => {
    const ok = logSoftmaxCase('ok', [2, 8], 0.1, 'double', 1).model;
    verifyBlob(encodeModel(ok));
    const withOptions = (change: Partial<LogSoftmaxOptions>) => ({
      ...ok,
      ops: [{ ...ok.ops[0], options: { ...(ok.ops[0].options as LogSoftmaxOptions), ...change } }],
    });
    const table = (ok.ops[0].options as LogSoftmaxOptions).exp_q12;
    for (const bad of [
      withOptions({ exp_q12: table.slice(1) }),
      withOptions({ exp_q12: table.map((v) => v * 2) }),
      withOptions({ diff_q5: table }),
      withOptions({ diff_min: 1 }),
    ])
      assert.throws(() => verifyBlob(encodeModel(bad as QModel)), /MRSL_E_OPTIONS/);
    assert.throws(
      () => verifyBlob(encodeModel(logSoftmaxCase('long', [1, 4096], 0.1, 'double', 1).model)),
      /MRSL_E_SHAPE/,
    );
  });

  it("torch's Linear → LogSoftmax(dim=-1) takes torch's own tensor: float within 1e-4, `morsel run` int8 within 5% of the range", async () => {
    const want = fixtureNpy('torch_log_softmax.output.npy');
    const g = importModel(path.join(OPS_FIXTURES, 'torch_log_softmax.onnx'));
    for (const graph of [g, { ...toDeviceGraph(g), meta: g.meta }]) {
      const worst = worstDiff(floatInSourceLayout(graph, fixtureNpy('torch_log_softmax.input.npy').data), want.data);
      assert.ok(worst <= 1e-4, `float differs from torch by ${worst}`);
    }
    await runWithinTorchRange('torch_log_softmax', tmp);
  });

  it("exports to TFLite as LOG_SOFTMAX, reads back as the same ops and options, and TFLite's own kernel gives the same bytes", async () => {
    const oracle = await loadTfliteOracle();
    const rng = new Rng(11);
    const files = modelFiles();
    for (const f of files) {
      const c = modelCase(f, rng);
      // A non-last axis is moved into rows by GATHER_STRIDED, which exports as RESHAPE, GATHER, RESHAPE.
      const bytes = exportTflite(c.model);
      const again = tfliteToQModel(readTflite(bytes, f));
      // Through JSON: a calibrated zero point may be −0, which the .tflite holds as 0.
      const opsOf = (m: QModel) =>
        JSON.parse(JSON.stringify(m.ops.filter((op) => op.opcode !== 'RESHAPE').map((op) => [op.opcode, op.options])));
      assert.deepEqual(opsOf(again), opsOf(c.model), f);
      for (const x of c.inputs) {
        assert.deepEqual(runInt8(again, [x]), runInt8(c.model, [x]), f);
        assert.deepEqual(oracle.run(bytes, [x]), runInt8(c.model, [x]), `${f}: TFLite's kernel`);
      }
    }
    assert.ok(files.length >= 9, `${files.length} models`);
    // One-op models over input scales (diff_min from −255 to 0), row lengths and the three roundings.
    for (const rounding of ['tflite', 'single', 'double'] as const)
      for (const scale of [0.005, 0.1, 1, 3])
        for (const shape of [
          [1, 10],
          [2, 300],
        ]) {
          const c = logSoftmaxCase(`${rounding} ${scale}`, shape, scale, rounding, 3);
          const bytes = exportTflite(c.model);
          for (const x of c.inputs) assert.deepEqual(oracle.run(bytes, [x]), runInt8(c.model, [x]), c.name);
        }
  });
});

describeKernelCases('LOG_SOFTMAX', () => {
  const cases: KernelCase[] = [];
  let seed = 2700;
  const add = (name: string, shape: number[], scale: number, rounding: RoundingMode = 'double') =>
    cases.push(logSoftmaxCase(name, shape, scale, rounding, seed++));
  add('1×10 logits', [1, 10], 0.1);
  add('3×7, small scale', [3, 7], 0.005);
  add('2×5, large scale', [2, 5], 2);
  add('one value per row', [4, 1], 0.1);
  add('4-D over channels', [1, 2, 3, 12], 0.05);
  add('a 300-value row', [1, 300], 0.1);
  add('the longest row, 4095 values', [1, 4095], 0.02);
  add('single rounding', [2, 9], 0.1, 'single');
  add('tflite rounding', [2, 9], 0.3, 'tflite');
  // The converted ONNX and torch models (their blobs as `morsel convert` writes them).
  const rng = new Rng(7);
  for (const f of modelFiles()) cases.push(modelCase(f, rng));
  return cases;
});
