// Removes nodes whose outputs nothing reads, and tensors nothing refers to.

import type { Graph } from '../ir/graph';

export function eliminateDead(g: Graph): Graph {
  for (let changed = true; changed; ) {
    const read = new Set([...g.outputs, ...g.nodes.flatMap((n) => n.op.inputs)]);
    const before = g.nodes.length;
    g.nodes = g.nodes.filter((n) => n.op.outputs.some((o) => read.has(o)));
    changed = g.nodes.length !== before;
  }
  const used = new Set([...g.inputs, ...g.outputs, ...g.nodes.flatMap((n) => [...n.op.inputs, ...n.op.outputs])]);
  for (const name of [...g.tensors.keys()]) if (!used.has(name)) g.tensors.delete(name);
  return g;
}
