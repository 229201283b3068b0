// Fuses relu / clip that follow an op with a clamp attribute into that clamp, removing the activation node.

import { type Clamp, consumers, type Graph } from '../ir/graph';

const CLAMPABLE = new Set(['conv2d', 'depthwise_conv2d', 'dense', 'add', 'sub', 'mul', 'max_pool', 'avg_pool']);

export function fuseActivations(g: Graph): Graph {
  for (const act of g.nodes.filter((n) => n.op.kind === 'relu' || n.op.kind === 'clip')) {
    const x = act.op.inputs[0];
    const prev = g.nodes.find((n) => n.op.outputs[0] === x);
    if (!prev || !CLAMPABLE.has(prev.op.kind) || consumers(g, x).length !== 1 || g.outputs.includes(x)) continue;
    const bounds: Clamp = act.op.kind === 'clip' ? (act.op.attrs as Clamp) : { min: 0, max: Infinity };
    const attrs = prev.op.attrs as { clamp?: Clamp };
    const old = attrs.clamp ?? { min: -Infinity, max: Infinity };
    attrs.clamp = { min: Math.max(old.min, bounds.min), max: Math.min(old.max, bounds.max) };
    prev.op.outputs[0] = act.op.outputs[0];
    g.nodes = g.nodes.filter((n) => n !== act);
  }
  return g;
}
