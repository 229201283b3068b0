import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { encodeModel } from '../host/blob/encode';
import { compileGraph } from '../host/compile';
import { runOnEngine } from '../host/engines';
import { importModel } from '../host/import';
import { runFloat } from '../host/interp/float';
import { runInt8 } from '../host/interp/int8/interpreter';
import { ModelError } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { quantizeInput } from '../host/quantize/quantize';

const FIX = path.join(__dirname, '..', '..', 'test', 'fixtures', 'onnx');
const toNhwc = (x: number[], [, c, h, w]: number[]) => Float32Array.from({ length: x.length }, (_, i) => {
  const ch = i % c, hw = (i - ch) / c;
  return x[ch * h * w + hw];
});
const toNchw = (y: Float32Array, [, c, h, w]: number[]) => Float32Array.from({ length: y.length }, (_, i) => {
  const hw = i % (h * w), ch = (i - hw) / (h * w);
  return y[hw * c + ch];
});
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) =>
  Array.from(a).every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));

describe('ONNX import (fixtures exported by PyTorch and onnx.helper)', () => {
  it('the PyTorch CNN reproduces torch logits before and after the device passes', () => {
    const exp = JSON.parse(fs.readFileSync(path.join(FIX, 'torch_cnn.expected.json'), 'utf8'));
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

  it('op fixtures with supported ops match their expected outputs; the rest fail with a clear ModelError', () => {
    let supported = 0;
    for (const f of fs.readdirSync(FIX).filter((n) => n.endsWith('.onnx') && n !== 'torch_cnn.onnx')) {
      const exp = JSON.parse(fs.readFileSync(path.join(FIX, f.replace('.onnx', '.expected.json')), 'utf8'));
      let g;
      try {
        g = importModel(path.join(FIX, f));
      } catch (e) {
        assert.ok(e instanceof ModelError, `${f}: ${e}`);
        assert.match((e as Error).message, /not supported|supported only/, f);
        continue;
      }
      const inputs = Object.values(exp.inputs) as { shape: number[]; data: number[] }[];
      if (inputs.length !== 1) continue;
      const [inp] = inputs;
      const x = inp.shape.length === 4 ? toNhwc(inp.data, inp.shape) : Float32Array.from(inp.data);
      const outs = runFloat(g, { [g.inputs[0]]: x });
      const expected = Object.values(exp.outputs) as { shape: number[]; data: number[] }[];
      Object.values(outs).forEach((y, i) => {
        const e = expected[i];
        const got = e.shape.length === 4 ? toNchw(y, e.shape) : y;
        assert.ok(close(got, e.data, 1e-4), `${f} output ${i}`);
      });
      supported++;
    }
    assert.ok(supported >= 4, `${supported} fixtures imported`);
  });

  it('the quantized PyTorch CNN agrees with torch and runs bit-exactly on the device engines', async () => {
    const exp = JSON.parse(fs.readFileSync(path.join(FIX, 'torch_cnn.expected.json'), 'utf8'));
    const compiled = compileGraph(importModel(path.join(FIX, 'torch_cnn.onnx')), { calib: 'fashion-mnist:train', calibCount: 200, quiet: true });
    const xs = exp.cases.map((c: { pixels_u8: number[] }) => quantizeInput(compiled.model, Float32Array.from(c.pixels_u8, (p) => p / 255)));
    const ref = xs.map((x: Int8Array) => runInt8(compiled.model, [x])[0]);
    const argmax = (a: ArrayLike<number>) => Array.from(a).reduce((b, v, i, arr) => (v > arr[b] ? i : b), 0);
    const agree = exp.cases.filter((c: { pred: number }, i: number) => argmax(ref[i]) === c.pred).length;
    assert.ok(agree >= 7, `${agree}/8 agree with torch`);
    for (const engine of ['node', 'duktape'] as const) {
      const r = await runOnEngine(engine, encodeModel(compiled.model), xs);
      assert.deepEqual(r.outputs.map((o) => Array.from(o)), ref.map((o: Int8Array) => Array.from(o)), engine);
    }
  });
});
