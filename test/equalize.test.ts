import { strict as assert } from 'assert';
import { readTfliteFile } from '../host/import/tflite';
import { tfliteToGraph } from '../host/import/tflite/to-graph';
import { runFloat } from '../host/interp/float';
import { Clamp, Graph, numel, tensor } from '../host/ir/graph';
import { toDeviceGraph } from '../host/passes';
import { activationChannelRanges, equalizeLayers } from '../host/passes/equalize';
import { Rng } from '../host/util/rng';
import { mlperfFile } from './helpers/tflite-mlperf';

// The float MLPerf KWS model: conv → (depthwise → pointwise) × 4 → average pool → dense, all with ReLU.
const kwsSource = () => tfliteToGraph(readTfliteFile(mlperfFile('kws_ref_model_float32.tflite')));
const kws = () => toDeviceGraph(kwsSource());

function randomInputs(g: Graph, count: number): Float32Array[] {
  const rng = new Rng(3);
  return Array.from({ length: count }, () =>
    Float32Array.from({ length: numel(tensor(g, g.inputs[0]).shape) }, () => rng.uniform(-100, 25)),
  );
}

/** The logits (the dense layer's output, before the softmax flattens differences). */
function logits(g: Graph, x: Float32Array): Float32Array {
  const dense = g.nodes.find((n) => n.op.kind === 'dense')!;
  let y: Float32Array | undefined;
  runFloat(g, { [g.inputs[0]]: x }, (name, data) => {
    if (name === dense.op.outputs[0]) y = data;
  });
  return y!;
}

function assertSameFunction(before: Graph, after: Graph, inputs: Float32Array[]): void {
  for (const x of inputs) {
    const a = logits(before, x),
      b = logits(after, x);
    const scale = Math.max(...a.map(Math.abs));
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-5 * scale, `logit ${i}: ${v} vs ${b[i]}`));
  }
}

/** max |w| per output channel (dim 0 for conv, last dim for depthwise) or per input channel (last dim). */
function ranges(g: Graph, layer: number, along: 'out' | 'in'): number[] {
  const n = g.nodes[layer];
  const w = tensor(g, n.op.inputs[1]!);
  const data = w.data as Float32Array;
  const channels = along === 'out' && n.op.kind !== 'depthwise_conv2d' ? w.shape[0] : w.shape[w.shape.length - 1];
  const r = new Array<number>(channels).fill(0);
  data.forEach((v, i) => {
    const c =
      along === 'out' && n.op.kind !== 'depthwise_conv2d' ? Math.floor(i / (data.length / channels)) : i % channels;
    r[c] = Math.max(r[c], Math.abs(v));
  });
  return r;
}

const spread = (r: number[]) => Math.max(...r) / Math.min(...r.filter((x) => x > 0));

describe('cross-layer equalization', () => {
  it('data-free: gives consecutive layers the same per-channel weight ranges and leaves the float function unchanged', () => {
    // Both device graphs share their constants with one source graph: equalization must not write through to it.
    const source = kwsSource();
    const before = toDeviceGraph(source),
      after = equalizeLayers(toDeviceGraph(source));
    const sourceWeights = (tensor(kws(), before.nodes[1].op.inputs[1]!).data as Float32Array).slice();
    assert.ok(spread(ranges(before, 1, 'in')) > 4, 'the depthwise layer starts with unequal channels');
    // Node 0 (conv) feeds node 1 (depthwise) channel for channel; both sides now span the same ranges.
    const out = ranges(after, 0, 'out'),
      inn = ranges(after, 1, 'in');
    out.forEach((r, c) => assert.ok(Math.abs(r - inn[c]) <= 1e-3 * r, `channel ${c}: ${r} vs ${inn[c]}`));
    assert.ok(spread(inn) < 3);
    assertSameFunction(before, after, randomInputs(before, 3));
    assert.deepEqual(
      tensor(before, before.nodes[1].op.inputs[1]!).data,
      sourceWeights,
      'the source graph keeps its weights',
    );
  });

  it("with activation ranges: every channel feeding a depthwise layer spans its tensor's full range, outputs unchanged", () => {
    const before = kws();
    const calibration = randomInputs(before, 8);
    const after = equalizeLayers(kws(), activationChannelRanges(before, calibration));
    const feedsDepthwise = before.nodes.filter((n) => n.op.kind === 'depthwise_conv2d').map((n) => n.op.inputs[0]);
    const rangesAfter = activationChannelRanges(after, calibration);
    for (const name of feedsDepthwise) {
      assert.ok(
        spread(Array.from(activationChannelRanges(before, calibration).get(name)!)) > 2,
        `${name} starts unequal`,
      );
      assert.ok(spread(Array.from(rangesAfter.get(name)!)) < 1 + 1e-4, `${name} is equalized`);
    }
    assertSameFunction(before, after, randomInputs(before, 3));
  });

  it('leaves a layer followed by a clipping activation (ReLU6) alone: clipping does not commute with scaling', () => {
    const relu6 = () => {
      const g = kws();
      (g.nodes[0].op.attrs as { clamp?: Clamp }).clamp = { min: 0, max: 6 };
      return g;
    };
    const before = relu6(),
      after = equalizeLayers(relu6());
    const weights = (g: Graph, layer: number) => tensor(g, g.nodes[layer].op.inputs[1]!).data;
    assert.deepEqual(weights(after, 0), weights(before, 0));
    assert.notDeepEqual(weights(after, 1), weights(before, 1), 'the next pair is still equalized');
    assertSameFunction(before, after, randomInputs(before, 3));
  });
});
