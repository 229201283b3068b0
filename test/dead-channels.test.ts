import { strict as assert } from 'assert';
import { encodeModel } from '../host/blob/encode';
import { compileTflite } from '../host/import/tflite/compile';
import { readTfliteFile } from '../host/import/tflite';
import { tfliteToGraph } from '../host/import/tflite/to-graph';
import { type Graph, numel, tensor } from '../host/ir/graph';
import type { QModel } from '../host/ir/qmodel';
import { toDeviceGraph } from '../host/passes';
import { calibrate } from '../host/quantize/calibrate';
import { f32 } from '../host/quantize/fixedpoint';
import { quantizeGraph } from '../host/quantize/quantize';
import { Rng } from '../host/util/rng';
import { mlperfFile } from './helpers/tflite-mlperf';

// Dead channels (every weight below ~1e-6, as training leaves some filters) are quantized as TFLite's converter
// does: the channel's range is widened to ±5e-7, so its weights round to zeros, not to ±127 with a scale of ~1e-32.

/** The float MLPerf KWS model with output channel `c` of its second 1×1 conv set by `weight(i)`. */
function kwsWithChannel(c: number, weight: (i: number) => number, bias?: number) {
  const g = toDeviceGraph(tfliteToGraph(readTfliteFile(mlperfFile('kws_ref_model_float32.tflite'))));
  const [, weights, biases] = g.nodes.filter((n) => n.op.kind === 'conv2d')[2].op.inputs;
  const w = tensor(g, weights);
  const depth = numel(w.shape) / w.shape[0];
  const data = (w.data as Float32Array).slice();
  for (let i = 0; i < depth; i++) data[c * depth + i] = weight(i);
  w.data = data;
  if (bias !== undefined) {
    const b = tensor(g, biases);
    b.data = Float32Array.from(b.data as Float32Array, (v, k) => (k === c ? bias : v));
  }
  return { g, weights, biases };
}

function quantize(g: Graph): QModel {
  const rng = new Rng(4);
  const n = numel(tensor(g, g.inputs[0]).shape);
  const samples = Array.from({ length: 8 }, () => Float32Array.from({ length: n }, () => rng.uniform(-100, 25)));
  return quantizeGraph(g, calibrate(g, samples));
}

const named = (m: QModel, name: string) => m.tensors.find((t) => t.name === name)!;

describe('dead channels', () => {
  it('a dead channel (weights of 1e-10 to 1e-30) gets the scale 5e-7/127 and zero weights: a blob as if it were 0', () => {
    const rng = new Rng(1);
    const dead = kwsWithChannel(5, () => rng.uniform(-1, 1) * 10 ** -rng.int(10, 30));
    const zero = kwsWithChannel(5, () => 0);
    const m = quantize(dead.g);
    const w = named(m, dead.weights);
    const depth = numel(w.shape) / w.shape[0];
    assert.equal(w.scale[5], f32(5e-7 / 127));
    assert.deepEqual([...w.data!.subarray(5 * depth, 6 * depth)], new Array(depth).fill(0));
    assert.ok(
      w.scale.every((s, c) => c === 5 || s > 1e-4),
      'live channels keep their own scale',
    );
    assert.equal(encodeModel(m).length, encodeModel(quantize(zero.g)).length);
  });

  it('weights under 1e-6 but not dead (±3e-7) keep their values on that widened grid, as in TFLite', () => {
    const rng = new Rng(2);
    const { g, weights } = kwsWithChannel(6, () => rng.uniform(-3e-7, 3e-7));
    const w = named(quantize(g), weights);
    const depth = numel(w.shape) / w.shape[0];
    const source = tensor(g, weights).data as Float32Array;
    assert.equal(w.scale[6], f32(5e-7 / 127));
    for (let i = 6 * depth; i < 7 * depth; i++) assert.equal(w.data![i], Math.round(source[i] / w.scale[6]) + 0);
  });

  it('a channel spanning under 1e-6 around a value far from 0 is not dead: scale max|w|/127', () => {
    const { g, weights } = kwsWithChannel(7, (i) => 0.5 + (i % 2) * 1e-7);
    const w = named(quantize(g), weights);
    const depth = numel(w.shape) / w.shape[0];
    assert.equal(w.scale[7], f32(f32(0.5 + 1e-7) / 127));
    assert.ok(w.data!.subarray(7 * depth, 8 * depth).every((v) => v === 127));
  });

  it('a dead channel with a large bias widens its scale until the int32 bias fits (TFLite saturates there)', () => {
    const { g, weights, biases } = kwsWithChannel(9, () => 1e-9, 40);
    const m = quantize(g);
    const w = named(m, weights);
    const b = named(m, biases);
    assert.ok(w.scale[9] > f32(5e-7 / 127), `scale ${w.scale[9]} widened`);
    assert.ok(Math.abs(b.data![9]) <= 2147483647);
    // The bias still means 40 (before the input zero point folded into it, which the weights' zeros leave alone).
    assert.ok(Math.abs(b.data![9] * b.scale[9] - 40) < 1e-3 * 40, `bias ${b.data![9]} × ${b.scale[9]}`);
  });

  for (const [float, int8] of [
    ['kws_ref_model_float32.tflite', 'kws_ref_model.tflite'],
    ['pretrainedResnet.tflite', 'pretrainedResnet_quant.tflite'],
  ])
    it(`${float}: its blob is within 5% of its int8 sibling's`, () => {
      const ours = compileTflite(mlperfFile(float), { calib: 'random:0:1', calibCount: 4, quiet: true }).blob.length;
      const theirs = compileTflite(mlperfFile(int8), { quiet: true }).blob.length;
      assert.ok(Math.abs(ours - theirs) <= 0.05 * theirs, `${ours} B vs ${theirs} B`);
    });
});
