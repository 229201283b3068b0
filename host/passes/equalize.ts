// Data-free cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
// Bias Correction", §4.1). For a layer whose output channel c reaches the next layer's input channel c through
// positive-homogeneous ops only (ReLU, pooling: f(x/s) = f(x)/s for s > 0), dividing channel c of the first layer's
// weights and bias by s and multiplying the second layer's input channel c by s leaves the float function unchanged.
// s = sqrt(r1·r2)/r2 (r = max |w| of that channel in each layer) gives both channels the same range, so a channel
// that one layer keeps small no longer wastes the other layer's int8 steps. Given activation ranges from calibration
// data, channels feeding a depthwise layer are instead stretched to fill the per-tensor activation range (see below).

import { runFloat } from '../interp/float';
import { type Clamp, consumers, type Graph, type Node, type Op, tensor } from '../ir/graph';
import { channelMaxAbs } from '../quantize/quantize';

type WeightLayer = Node & { op: Extract<Op, { kind: 'conv2d' | 'depthwise_conv2d' | 'dense' }> };

/** A producer's output channels and the consumer's input channels they feed, channel for channel. */
interface Pair {
  first: WeightLayer;
  second: WeightLayer;
  channels: number;
}

const ITERATIONS = 100;
/** Stop once no channel moves by more than this factor in a sweep. */
const CONVERGED = 1e-4;

const isWeightLayer = (n: Node): n is WeightLayer =>
  (n.op.kind === 'conv2d' && n.op.attrs.group === 1) ||
  (n.op.kind === 'depthwise_conv2d' && n.op.attrs.multiplier === 1) ||
  n.op.kind === 'dense';

/** ReLU or no clamp commutes with a positive per-channel scale; a finite upper bound (ReLU6) or a non-zero lower one does not. */
const isHomogeneous = (clamp: Clamp | undefined) =>
  !clamp || (clamp.max === Infinity && (clamp.min === 0 || clamp.min === -Infinity));

/** The weight layer that reads `name` channel for channel, passing only through pools; undefined if branched or otherwise. */
function channelConsumer(g: Graph, name: string): WeightLayer | undefined {
  for (;;) {
    const readers = consumers(g, name);
    if (readers.length !== 1 || g.outputs.includes(name)) return undefined;
    const [next] = readers;
    if (isWeightLayer(next)) return next.op.inputs[0] === name ? next : undefined;
    if ((next.op.kind !== 'avg_pool' && next.op.kind !== 'max_pool') || !isHomogeneous(next.op.attrs.clamp))
      return undefined;
    name = next.op.outputs[0];
  }
}

/**
 * Elements per output channel step, channel floor(i / step) mod channels: dim 0 for conv2d [out,kh,kw,in] and dense
 * [out,in], the last dim for depthwise [1,kh,kw,out]. Input channels are always the last dim (step 1): dense reads
 * an NHWC tensor flattened, channel last.
 */
const outputStep = (layer: WeightLayer, length: number, channels: number) =>
  layer.op.kind === 'depthwise_conv2d' ? 1 : length / channels;

/** Gives the layer weights and bias of its own (the graph shares constant data with its source) and returns them. */
function ownConstants(
  g: Graph,
  layer: WeightLayer,
  owned: Set<string>,
): { weights: Float32Array; bias?: Float32Array } {
  const inputs = layer.op.inputs as string[];
  for (const [slot, suffix] of [
    [1, 'weights_equalized'],
    [2, 'bias_equalized'],
  ] as const) {
    if (!inputs[slot] || owned.has(inputs[slot])) continue;
    const t = tensor(g, inputs[slot]);
    const name = `${layer.name}/${suffix}`;
    g.tensors.set(name, { ...t, name, shape: [...t.shape], data: (t.data as Float32Array).slice() });
    inputs[slot] = name;
    owned.add(name);
  }
  return {
    weights: tensor(g, inputs[1]).data as Float32Array,
    bias: inputs[2] ? (tensor(g, inputs[2]).data as Float32Array) : undefined,
  };
}

/**
 * Equalizes every producer/consumer pair of float weight layers, sweeping the chain until the scales settle. With
 * `activationRanges` (max |x| per channel of each activation, see activationChannelRanges), a pair whose consumer is
 * depthwise instead scales every channel between them up to the tensor's largest: both layers have per-channel int8
 * weights, which absorb any channel scale, so the per-tensor activation's range is then used by every channel.
 */
export function equalizeLayers(g: Graph, activationRanges?: ReadonlyMap<string, Float64Array>): Graph {
  const pairs: Pair[] = [];
  for (const first of g.nodes.filter(isWeightLayer)) {
    if (!isHomogeneous(first.op.attrs.clamp)) continue;
    const second = channelConsumer(g, first.op.outputs[0]);
    // Weights a QDQ producer quantized keep their own scales: rescaling them would break those.
    const quantized = [first, second].some(
      (n) => n && (tensor(g, n.op.inputs[1]).quant || !(tensor(g, n.op.inputs[1]).data instanceof Float32Array)),
    );
    if (!second || quantized) continue;
    const shape = tensor(g, first.op.outputs[0]).shape;
    pairs.push({ first, second, channels: shape[shape.length - 1] });
  }
  const owned = new Set<string>();
  for (const { first, second, channels } of pairs) {
    const act = activationRanges?.get(first.op.outputs[0]);
    if (!act || second.op.kind !== 'depthwise_conv2d') continue;
    const top = Math.max(...act);
    // A channel that never fires has nothing to stretch.
    rescale(
      first,
      ownConstants(g, first, owned),
      ownConstants(g, second, owned),
      channels,
      act.map((x) => (x > 0 ? x / top : 1)),
    );
  }
  for (let sweep = 0; sweep < ITERATIONS; sweep++) {
    let moved = 0;
    for (const { first, second, channels } of pairs) {
      if (activationRanges && second.op.kind === 'depthwise_conv2d') continue;
      const a = ownConstants(g, first, owned),
        b = ownConstants(g, second, owned);
      const r1 = channelMaxAbs(a.weights, channels, outputStep(first, a.weights.length, channels));
      const r2 = channelMaxAbs(b.weights, channels, 1);
      // A channel that is zero on either side has nothing to balance.
      const s = r1.map((x, c) => (x > 0 && r2[c] > 0 ? Math.sqrt(x * r2[c]) / r2[c] : 1));
      rescale(first, a, b, channels, s);
      for (const x of s) moved = Math.max(moved, Math.abs(Math.log(x)));
    }
    if (moved < CONVERGED) break;
  }
  return g;
}

type Constants = ReturnType<typeof ownConstants>;

/** Divides output channel c of `first`'s constants `a` (weights and bias) by s[c] and multiplies input channel c of the second layer's `b` by it. */
function rescale(first: WeightLayer, a: Constants, b: Constants, channels: number, s: Float64Array): void {
  const step = outputStep(first, a.weights.length, channels);
  for (let i = 0; i < a.weights.length; i++) a.weights[i] /= s[Math.floor(i / step) % channels];
  if (a.bias) for (let c = 0; c < channels; c++) a.bias[c] /= s[c];
  for (let i = 0; i < b.weights.length; i++) b.weights[i] *= s[i % channels];
}

/** Max |x| of every channel (last dim) of every tensor the float graph computes, over the samples. */
export function activationChannelRanges(g: Graph, samples: Float32Array[]): Map<string, Float64Array> {
  const ranges = new Map<string, Float64Array>();
  for (const x of samples) {
    runFloat(g, { [g.inputs[0]]: x }, (name, data) => {
      const channels = tensor(g, name).shape.at(-1) ?? 1;
      let r = ranges.get(name);
      if (!r) ranges.set(name, (r = new Float64Array(channels)));
      for (let i = 0; i < data.length; i++) r[i % channels] = Math.max(r[i % channels], Math.abs(data[i]));
    });
  }
  return ranges;
}
