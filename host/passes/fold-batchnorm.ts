// Folds inference batch-norm into the preceding conv / depthwise conv / dense (also through a reshape that keeps the
// channel axis, as after TF.js's Conv1D): w' = w·γ/σ, b' = (b − μ)·γ/σ + β.
// A batch-norm with no such layer before it (after an add or a concat) becomes MUL by γ/σ then ADD of β − μ·γ/σ.

import { consumers, type Graph, type Node, tensor } from '../ir/graph';

function lowerToMulAdd(g: Graph, bn: Node<'batchnorm'>): void {
  const [gamma, beta, mean, variance] = bn.op.inputs.slice(1).map((n) => tensor(g, n).data as Float32Array);
  const C = gamma.length;
  const scale = gamma.map((gm, c) => gm / Math.sqrt(variance[c] + bn.op.attrs.epsilon));
  const shape = tensor(g, bn.op.inputs[0]).shape.map((_, i, s) => (i === s.length - 1 ? C : 1));
  const [scaleName, shiftName, scaledName] = [`${bn.name}/scale`, `${bn.name}/shift`, `${bn.name}/scaled`];
  g.tensors.set(scaleName, { name: scaleName, dtype: 'float32', shape, data: scale });
  g.tensors.set(shiftName, {
    name: shiftName,
    dtype: 'float32',
    shape,
    data: beta.map((b, c) => b - mean[c] * scale[c]),
  });
  g.tensors.set(scaledName, { name: scaledName, dtype: 'float32', shape: [...tensor(g, bn.op.inputs[0]).shape] });
  const at = g.nodes.indexOf(bn as unknown as Node);
  g.nodes.splice(
    at,
    1,
    {
      name: `${bn.name}/mul`,
      op: { kind: 'mul', inputs: [bn.op.inputs[0], scaleName], outputs: [scaledName], attrs: {} },
    },
    {
      name: `${bn.name}/add`,
      op: { kind: 'add', inputs: [scaledName, shiftName], outputs: [bn.op.outputs[0]], attrs: {} },
    },
  );
}

const FOLDABLE = new Set(['conv2d', 'depthwise_conv2d', 'dense']);

/**
 * The conv / depthwise / dense layer whose output alone reaches `name`: directly, or through one reshape that keeps
 * the channel (last) axis (TF.js's Conv1D is a conv2d between two reshapes), which is returned too.
 */
function foldableLayer(g: Graph, name: string): { layer: Node; through?: Node } | undefined {
  const only = (t: string) => consumers(g, t).length === 1 && !g.outputs.includes(t);
  const producer = (t: string) => g.nodes.find((n) => n.op.outputs[0] === t);
  const prev = producer(name);
  if (!prev || !only(name)) return undefined;
  if (FOLDABLE.has(prev.op.kind)) return { layer: prev };
  if (prev.op.kind !== 'reshape' || !only(prev.op.inputs[0])) return undefined;
  const layer = producer(prev.op.inputs[0]);
  const [from, to] = [tensor(g, prev.op.inputs[0]).shape, tensor(g, name).shape];
  if (!layer || !FOLDABLE.has(layer.op.kind) || from[from.length - 1] !== to[to.length - 1]) return undefined;
  return { layer, through: prev };
}

export function foldBatchNorm(g: Graph): Graph {
  for (const bn of g.nodes.filter((n) => n.op.kind === 'batchnorm') as unknown as Node<'batchnorm'>[]) {
    if (g.layout !== 'NHWC') continue;
    const found = foldableLayer(g, bn.op.inputs[0]);
    if (!found) {
      lowerToMulAdd(g, bn);
      continue;
    }
    const prev = found.layer;
    const [gamma, beta, mean, variance] = bn.op.inputs.slice(1).map((n) => tensor(g, n).data as Float32Array);
    const op = prev.op as Extract<Node['op'], { kind: 'conv2d' | 'depthwise_conv2d' | 'dense' }>;
    const wt = tensor(g, op.inputs[1]);
    const C = gamma.length;
    const factor = gamma.map((gm, c) => gm / Math.sqrt(variance[c] + bn.op.attrs.epsilon));
    const w = (wt.data as Float32Array).slice();
    // Output channel is dim 0 for conv/dense and the last dim for depthwise [1,kh,kw,oc].
    const per = w.length / C;
    for (let i = 0; i < w.length; i++) w[i] *= factor[op.kind === 'depthwise_conv2d' ? i % C : Math.floor(i / per)];
    wt.data = w;
    const oldBias = op.inputs[2] ? (tensor(g, op.inputs[2]).data as Float32Array) : new Float32Array(C);
    const biasName = `${prev.name}/folded_bias`;
    g.tensors.set(biasName, {
      name: biasName,
      dtype: 'float32',
      shape: [C],
      data: oldBias.map((b, c) => (b - mean[c]) * factor[c] + beta[c]),
    });
    (op.inputs as string[])[2] = biasName;
    (found.through ?? prev).op.outputs[0] = bn.op.outputs[0];
    g.nodes = g.nodes.filter((n) => n !== bn);
  }
  return g;
}
