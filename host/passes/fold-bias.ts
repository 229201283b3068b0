// Folds `x + k` / `x − k` with a per-channel constant k into the bias of the conv / depthwise / dense producing x
// (MatMul + Add from ONNX, or a Keras bias written as a separate op): one op less and no int8 rounding of k alone.

import { consumers, Graph, isConstant, numel, producer, tensor } from '../ir/graph';

const WITH_BIAS = new Set(['conv2d', 'depthwise_conv2d', 'dense']);

export function foldBiasAdd(g: Graph): Graph {
  for (const n of g.nodes.filter((m) => m.op.kind === 'add' || m.op.kind === 'sub')) {
    const op = n.op as Extract<typeof n.op, { kind: 'add' | 'sub' | 'mul' }>;
    const constFirst = isConstant(g, op.inputs[0]);
    if (constFirst && op.kind === 'sub') continue;
    const [k, x] = constFirst ? [op.inputs[0], op.inputs[1]] : [op.inputs[1], op.inputs[0]];
    if (!isConstant(g, k) || isConstant(g, x) || op.attrs.clamp) continue;
    const prev = producer(g, x);
    if (!prev || !WITH_BIAS.has(prev.op.kind) || (prev.op.attrs as { clamp?: unknown }).clamp || consumers(g, x).length !== 1 || g.outputs.includes(x)) continue;
    const xs = tensor(g, x).shape, ks = tensor(g, k).shape;
    const C = xs[xs.length - 1];
    // Only a constant that varies along the channel axis alone (shape [..., 1, C] or a scalar) is a bias.
    if (numel(ks) !== 1 && (numel(ks) !== C || ks[ks.length - 1] !== C) || numel(tensor(g, op.outputs[0]).shape) !== numel(xs)) continue;
    const kv = tensor(g, k).data as Float32Array;
    const pop = prev.op as Extract<typeof prev.op, { kind: 'conv2d' | 'depthwise_conv2d' | 'dense' }>;
    const old = pop.inputs[2] ? (tensor(g, pop.inputs[2]).data as Float32Array) : new Float32Array(C);
    const biasName = `${prev.name}/bias_folded`;
    g.tensors.set(biasName, { name: biasName, dtype: 'float32', shape: [C], data: old.map((b, c) => b + (op.kind === 'sub' ? -1 : 1) * kv[kv.length === 1 ? 0 : c]) });
    (pop.inputs as string[])[2] = biasName;
    pop.outputs[0] = op.outputs[0];
    g.nodes = g.nodes.filter((m) => m !== n);
  }
  return g;
}
