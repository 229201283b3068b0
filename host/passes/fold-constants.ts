// Constant folding: a node whose inputs are all constants becomes a constant, computed by the float interpreter.

import { type Graph, isConstant, tensor } from '../ir/graph';
import { evaluateConstantNode } from '../interp/float';

export function foldConstants(g: Graph): Graph {
  for (const n of [...g.nodes]) {
    // A graph output stays computed by an op: the device returns op outputs, not weights.
    if (!n.op.inputs.every((name) => isConstant(g, name)) || n.op.outputs.some((o) => g.outputs.includes(o))) continue;
    tensor(g, n.op.outputs[0]).data = evaluateConstantNode(g, n);
    g.nodes = g.nodes.filter((m) => m !== n);
  }
  return g;
}
