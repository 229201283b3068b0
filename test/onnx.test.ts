import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as ort from 'onnxruntime-node';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { compileGraph } from '../host/compile';
import { ENGINES, runOnEngine } from '../host/engines';
import { importModel } from '../host/import';
import { fromStoredLayout, toStoredLayout } from '../host/import/boundary';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { type Graph, ModelError, numel } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { planMemory } from '../host/plan/planner';
import { calibrate } from '../host/quantize/calibrate';
import { dequantizeOutput, quantizeGraph, quantizeInput } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';

const FIX = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx');
/** Whether the importer stores this graph input/output as the NHWC transpose of its ONNX (NCHW) tensor. */
const nhwc = (g: Graph, name: string) => (g.meta.nhwcFromNchw ?? '').split(',').includes(name);
/** ONNX (row-major) data → the IR tensor's order. */
const toIr = (x: ArrayLike<number>, onnx: number[], transposed: boolean) =>
  !transposed
    ? Float32Array.from(x)
    : Float32Array.from({ length: x.length }, (_, i) => {
        const [, c, h, w] = onnx;
        const ch = i % c,
          hw = (i - ch) / c;
        return x[ch * h * w + hw];
      });
const fromIr = (y: ArrayLike<number>, onnx: readonly number[], transposed: boolean) =>
  !transposed
    ? Float32Array.from(y)
    : Float32Array.from({ length: y.length }, (_, i) => {
        const [, c, h, w] = onnx;
        const hw = i % (h * w),
          ch = (i - hw) / (h * w);
        return y[hw * c + ch];
      });
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));
const argmax = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, arr) => (v > arr[b] ? i : b), 0);

const fixtures = fs
  .readdirSync(FIX)
  .filter((n) => n.endsWith('.onnx') && n !== 'torch_cnn.onnx')
  .sort();
const expected = (f: string) =>
  JSON.parse(fs.readFileSync(path.join(FIX, f.replace('.onnx', '.expected.json')), 'utf8'));

/** Fixtures Morsel rejects, and why: inputs of two batch sizes, an op it does not import. */
const REJECTED: Record<string, RegExp> = {
  'broadcast_arith.onnx': /inputs have batch sizes 2 and 3; one batch size expected/,
  'unsupported_op.onnx':
    /^node 0 'act' \(Hardmax\): ONNX op Hardmax is not supported \(supported: Conv, Gemm, MatMul, Add, .*QuantizeLinear, DequantizeLinear, /,
};
/** Transposes its batch axis into others: at batch 1 it is another model than its first sample (tested below). */
const BATCH_MIXED = 'reshape_zero_neg1.onnx';
const supported = fixtures.filter((f) => !REJECTED[f] && f !== BATCH_MIXED);

/** The ONNX shape of a fixture's single input, at batch 1 (what Morsel compiles a fixed batch for). */
const onnxInputShape = (f: string): number[] => [
  1,
  ...(Object.values(expected(f).inputs)[0] as { shape: number[] }).shape.slice(1),
];
/** The first sample of a batch (a fixture exported at batch 2 or 3 against Morsel's batch 1). */
const firstSample = (t: { shape: number[]; data: ArrayLike<number> }) => ({
  shape: [1, ...t.shape.slice(1)],
  data: Array.from(t.data).slice(0, t.data.length / t.shape[0]),
});
/** Gaussian inputs in ONNX (row-major) order. */
function randomInputs(shape: number[], count: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: numel(shape) }, () => rng.normal()));
}
/** Calibration samples and test inputs for a fixture's device graph, in the IR's order. */
const irSamples = (f: string, d: Graph, count: number, seed: number) =>
  randomInputs(onnxInputShape(f), count, seed).map((x) => toIr(x, onnxInputShape(f), nhwc(d, d.inputs[0])));

describe('ONNX import (fixtures exported by PyTorch and onnx.helper)', () => {
  it('the PyTorch CNN reproduces torch logits before and after the device passes', () => {
    const exp = expected('torch_cnn.onnx');
    const g = importModel(path.join(FIX, 'torch_cnn.onnx'));
    const d = toDeviceGraph(g);
    assert.ok(!d.nodes.some((n) => n.op.kind === 'batchnorm'));
    for (const c of exp.cases) {
      const x = Float32Array.from(c.pixels_u8 as number[], (p) => p / 255);
      for (const graph of [g, d]) {
        const y = Object.values(runFloat(graph, { [graph.inputs[0]]: x }))[0];
        assert.ok(close(y, c.logits, 1e-4), `case ${c.index}: ${Array.from(y)} vs ${c.logits}`);
      }
    }
  });

  it('rejects mixed batch sizes and unknown ops with one clear line naming the reason', () => {
    for (const [f, why] of Object.entries(REJECTED)) {
      assert.throws(
        () => importModel(path.join(FIX, f)),
        (e: unknown) => e instanceof ModelError && why.test(e.message) && !e.message.includes('\n'),
        f,
      );
    }
  });

  it('every other fixture matches its producer (torch) before and after the device passes', () => {
    for (const f of supported) {
      const exp = expected(f);
      const g = importModel(path.join(FIX, f));
      const feeds = Object.fromEntries(
        Object.entries(exp.inputs as Record<string, { shape: number[]; data: number[] }>).map(([k, v]) => [
          k,
          toIr(firstSample(v).data, firstSample(v).shape, nhwc(g, k)),
        ]),
      );
      for (const graph of [g, toDeviceGraph(g)]) {
        const outs = Object.values(runFloat(graph, feeds));
        Object.values(exp.outputs as Record<string, { shape: number[]; data: number[] }>).forEach((full, i) => {
          const e = firstSample(full);
          assert.ok(close(fromIr(outs[i], e.shape, nhwc(graph, graph.outputs[i])), e.data, 1e-4), `${f} output ${i}`);
        });
      }
    }
    assert.equal(supported.length, 50);
  });

  it('a Transpose that moves the batch axis compiles at batch 1 as a runtime transpose (GATHER_STRIDED)', () => {
    const g = importModel(path.join(FIX, BATCH_MIXED));
    assert.ok(toDeviceGraph(g).nodes.some((n) => n.op.kind === 'gather_strided'));
    // [1,6,4] → Reshape [1,8,3] → Transpose [2,0,1] → [3,1,8] → Flatten → Reshape [3,4,2]: y[c, b, k] = x[b, k, c].
    const x = Float32Array.from({ length: 24 }, (_, i) => i);
    const y = Object.values(runFloat(g, { [g.inputs[0]]: x }))[0];
    assert.deepEqual(
      Array.from(y),
      Array.from({ length: 24 }, (_, i) => x[(i % 8) * 3 + Math.floor(i / 8)]),
    );
  });

  it('a fixed batch (here 2) compiles for batch 1, with a notice for convert to print; shapes are re-inferred', () => {
    const g = importModel(path.join(FIX, 'mlp_gemm_softmax.onnx'));
    assert.match(g.meta.notice, /^input '.+' has batch size 2: compiled for batch 1$/);
    assert.equal(g.tensors.get(g.inputs[0])!.shape[0], 1);
    assert.equal(g.tensors.get(g.outputs[0])!.shape[0], 1);
    assert.equal(importModel(path.join(FIX, 'torch_cnn.onnx')).meta.notice, undefined, 'batch 1: no notice');
  });

  it("takes calibration data and inputs in torch's NCHW layout and returns outputs in it (issue 15.0)", async () => {
    const f = path.join(FIX, 'conv_bn_relu_maxpool.onnx');
    const shape = [1, 3, 16, 16];
    const xs = randomInputs(shape, 16, 21);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'morsel-nchw-'));
    try {
      // The calibration file holds torch's own tensors, [N, C, H, W] as the user has them.
      const calib = path.join(dir, 'calib.json');
      fs.writeFileSync(calib, JSON.stringify(xs));
      const { source, model } = compileGraph(importModel(f), { calib, quiet: true });
      const session = await ort.InferenceSession.create(f);
      for (const x of xs.slice(0, 3)) {
        const ref = await session.run({
          [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x), shape),
        });
        const want = ref[session.outputNames[0]].data as Float32Array;
        const stored = toStoredLayout(source, source.inputs[0], Float32Array.from(x));
        const yq = dequantizeOutput(model, runInt8(model, [quantizeInput(model, stored)])[0]);
        const got = fromStoredLayout(source, source.outputs[0], yq);
        const range = Math.max(...want) - Math.min(...want);
        const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i])));
        assert.ok(worst <= 0.03 * range, `int8 NCHW output differs from onnxruntime by ${worst} (range ${range})`);
        assert.deepEqual(Array.from(toStoredLayout(source, source.outputs[0], got)), Array.from(Float32Array.from(yq)));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every other fixture matches onnxruntime on random inputs', async () => {
    for (const f of supported) {
      const g = importModel(path.join(FIX, f));
      const session = await ort.InferenceSession.create(path.join(FIX, f));
      // The model's own (possibly fixed, > 1) batch for onnxruntime; Morsel runs its first sample.
      const fullShape = (Object.values(expected(f).inputs)[0] as { shape: number[] }).shape;
      for (const x of randomInputs(fullShape, 3, 11)) {
        const ref = await session.run({
          [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x), fullShape),
        });
        const first = firstSample({ shape: fullShape, data: x });
        const outs = Object.values(runFloat(g, { [g.inputs[0]]: toIr(first.data, first.shape, nhwc(g, g.inputs[0])) }));
        session.outputNames.forEach((name, i) => {
          const r = firstSample({ shape: ref[name].dims as number[], data: ref[name].data as Float32Array });
          assert.ok(close(fromIr(outs[i], r.shape, nhwc(g, g.outputs[i])), r.data, 1e-4), `${f} output ${name}`);
        });
      }
    }
  });

  it('every other fixture quantizes; the int8 reference stays close to float and picks the same top-1', () => {
    for (const f of supported) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      const samples = irSamples(f, d, 24, 5);
      const model = quantizeGraph(d, calibrate(d, samples));
      for (const x of samples.slice(0, 4)) {
        const yf = Object.values(runFloat(d, { [d.inputs[0]]: x }))[0];
        const yq = dequantizeOutput(model, runInt8(model, [quantizeInput(model, x)])[0]);
        const range = Math.max(...yf) - Math.min(...yf);
        const worst = Math.max(...Array.from(yf, (v, i) => Math.abs(v - yq[i])));
        assert.ok(worst <= 0.06 * range, `${f}: int8 differs from float by ${worst} (output range ${range})`);
        // Top-1 must agree unless float's top two are closer than the int8 error (a tie within rounding).
        const [first, second] = Array.from(yf).sort((p, q) => q - p);
        if (yf.length <= 10 && first - second > 2 * worst) assert.equal(argmax(yq), argmax(yf), `${f}: top-1`);
      }
    }
  });

  it("a QDQ model keeps its producer's scales and reproduces its int8 tensors exactly, with no calibration", () => {
    const exp = expected('qdq_conv.onnx');
    const g = importModel(path.join(FIX, 'qdq_conv.onnx'));
    const conv = g.nodes.find((n) => n.op.kind === 'conv2d')!;
    const weights = g.tensors.get(conv.op.inputs[1] as string)!;
    assert.equal(weights.quant?.scale.length, 4, 'per-channel weight scales kept');
    const model = quantizeGraph(toDeviceGraph(g), new Map());
    const t = (name: string) => model.tensors.find((x) => x.name === name)!;
    const inQ = exp.intermediates.input_q;
    const reluQ = exp.intermediates.relu_q;
    const x = Int8Array.from(toIr(inQ.data, inQ.shape, true));
    const seen = new Map<string, Int8Array>();
    const [y] = runInt8(model, [x], (ti, data) => seen.set(model.tensors[ti].name, data));
    assert.deepEqual(Array.from(fromIr(seen.get('relu_out')!, reluQ.shape, true)), reluQ.data);
    assert.deepEqual(Array.from(y), exp.intermediates.fc_q.data);
    assert.equal(t('fc_out').zeroPoint[0], g.tensors.get('fc_out')!.quant!.zeroPoint[0]);
  });

  it('Transposes between an NHWC input/output and NCHW convolutions cost nothing; uint8 QDQ becomes int8', () => {
    const g = importModel(path.join(FIX, 'nhwc_io_transpose.onnx'));
    assert.equal(g.nodes.map((n) => n.op.kind).join(), 'conv2d,relu');
    assert.equal(g.meta.nhwcFromNchw, '', 'input and output are in the ONNX order, which is NHWC');
    const q = importModel(path.join(FIX, 'qdq_uint8_pad_concat.onnx'));
    // uint8 with zero point 100 has the same real values as int8 with zero point −28.
    assert.deepEqual(q.tensors.get(q.inputs[0])!.quant, { scale: [Math.fround(0.02)], zeroPoint: [-28] });
  });

  it('the quantized PyTorch CNN agrees with torch and runs bit-exactly on the device engines', async () => {
    const exp = expected('torch_cnn.onnx');
    const compiled = compileGraph(importModel(path.join(FIX, 'torch_cnn.onnx')), {
      calib: 'fashion-mnist:train',
      calibCount: 200,
      quiet: true,
    });
    const xs = exp.cases.map((c: { pixels_u8: number[] }) =>
      quantizeInput(
        compiled.model,
        Float32Array.from(c.pixels_u8, (p) => p / 255),
      ),
    );
    const ref = xs.map((x: Int8Array) => runInt8(compiled.model, [x])[0]);
    const agree = exp.cases.filter((c: { pred: number }, i: number) => argmax(ref[i]) === c.pred).length;
    assert.ok(agree >= 7, `${agree}/8 agree with torch`);
    for (const engine of ['node', 'duktape'] as const) {
      const r = await runOnEngine(engine, encodeModel(compiled.model), xs);
      assert.deepEqual(
        r.outputs.map((o) => Array.from(o)),
        ref.map((o: Int8Array) => Array.from(o)),
        engine,
      );
    }
  });

  it('single-output fixtures (MUL, CONCATENATION, PAD, SOFTMAX, grouped and dilated conv, QDQ) run bit-exactly on every engine', async () => {
    const models: { f: string; model: QModel; xs: Int8Array[] }[] = [];
    for (const f of supported) {
      const d = toDeviceGraph(importModel(path.join(FIX, f)));
      if (d.outputs.length !== 1) continue;
      const samples = irSamples(f, d, 8, 3);
      const model = quantizeGraph(d, calibrate(d, samples));
      planMemory(model);
      models.push({ f, model, xs: samples.slice(0, 2).map((x) => quantizeInput(model, x)) });
    }
    const opcodes = new Set(models.flatMap((m) => m.model.ops.map((o) => o.opcode)));
    for (const op of ['MUL', 'CONCATENATION', 'PAD', 'SOFTMAX', 'SUB', 'ADD', 'MEAN'])
      assert.ok(opcodes.has(op as never), op);
    for (const engine of ENGINES) {
      for (const { f, model, xs } of models) {
        const r = await runOnEngine(engine, encodeModel(model), xs);
        assert.deepEqual(
          r.outputs.map((o) => Array.from(o)),
          xs.map((x) => Array.from(runInt8(model, [x])[0])),
          `${f} on ${engine}`,
        );
      }
    }
  });
});
