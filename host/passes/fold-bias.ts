// Folds `x + k`, `x − k` and `x · k` with a per-channel constant k into the conv / depthwise / dense producing x:
// k joins the bias (add, sub) or scales the weights and bias of each output channel (mul). ONNX MatMul + Add, a
// Keras bias written as its own op and `conv(x) * scale` become one layer, with no int8 rounding of k alone.

import { consumers, type Graph, isConstant, type Node, numel, producer, tensor } from '../ir/graph';

const WITH_BIAS = new Set(['conv2d', 'depthwise_conv2d', 'dense']);

export function foldChannelConstants(g: Graph): Graph {
  for (const n of g.nodes.filter((m) => m.op.kind === 'add' || m.op.kind === 'sub' || m.op.kind === 'mul')) {
    const op = n.op as Extract<Node['op'], { kind: 'add' | 'sub' | 'mul' }>;
    const constFirst = isConstant(g, op.inputs[0]);
    if (constFirst && op.kind === 'sub') continue;
    const [k, x] = constFirst ? [op.inputs[0], op.inputs[1]] : [op.inputs[1], op.inputs[0]];
    if (!isConstant(g, k) || isConstant(g, x) || op.attrs.clamp) continue;
    const prev = producer(g, x);
    if (
      !prev ||
      !WITH_BIAS.has(prev.op.kind) ||
      (prev.op.attrs as { clamp?: unknown }).clamp ||
      consumers(g, x).length !== 1 ||
      g.outputs.includes(x)
    )
      continue;
    const xs = tensor(g, x).shape,
      ks = tensor(g, k).shape;
    const C = xs[xs.length - 1];
    // Only a constant that varies along the channel axis alone (shape [..., 1, C] or a scalar) is per channel.
    if (
      (numel(ks) !== 1 && (numel(ks) !== C || ks[ks.length - 1] !== C)) ||
      numel(tensor(g, op.outputs[0]).shape) !== numel(xs)
    )
      continue;
    const pop = prev.op as Extract<Node['op'], { kind: 'conv2d' | 'depthwise_conv2d' | 'dense' }>;
    const wt = tensor(g, pop.inputs[1]);
    // Scaling weights a QDQ producer quantized would break its scales: leave those to the int8 MUL.
    if (op.kind === 'mul' && wt.quant) continue;
    const kv = tensor(g, k).data as Float32Array;
    const kc = (c: number) => kv[kv.length === 1 ? 0 : c];
    const old = pop.inputs[2] ? (tensor(g, pop.inputs[2]).data as Float32Array) : new Float32Array(C);
    if (op.kind === 'mul') {
      // Output channel is dim 0 for conv/dense weights and the last dim for depthwise [1,kh,kw,oc].
      const w = (wt.data as Float32Array).slice();
      const per = w.length / C;
      for (let i = 0; i < w.length; i++) w[i] *= kc(pop.kind === 'depthwise_conv2d' ? i % C : Math.floor(i / per));
      const weightsName = `${prev.name}/weights_scaled`;
      g.tensors.set(weightsName, { ...wt, name: weightsName, data: w });
      (pop.inputs as string[])[1] = weightsName;
    }
    const biasName = `${prev.name}/bias_folded`;
    const bias = old.map((b, c) => (op.kind === 'mul' ? b * kc(c) : op.kind === 'sub' ? b - kc(c) : b + kc(c)));
    g.tensors.set(biasName, { name: biasName, dtype: 'float32', shape: [C], data: bias });
    (pop.inputs as string[])[2] = biasName;
    pop.outputs[0] = op.outputs[0];
    g.nodes = g.nodes.filter((m) => m !== n);
  }
  return g;
}
