// Removes reshapes the device does not need: a reshape of a reshape collapses into one, a reshape to the same shape
// disappears, a reshape read only by fully-connected layers goes (FULLY_CONNECTED flattens its input itself), and
// a reshape → row-wise op → reshape back that keeps the last dimension loses both reshapes.
// Reshapes that give a graph output its shape stay.

import { consumers, type Graph, type Node, producer, tensor } from '../ir/graph';

/** Ops whose result depends only on the rows of the last dimension (softmax) or on each element. */
const ROW_WISE = new Set(['softmax', 'log_softmax', 'relu', 'clip', 'sigmoid', 'tanh', 'leaky_relu']);

function elideReshapePairs(g: Graph): void {
  for (const first of g.nodes.filter((n) => n.op.kind === 'reshape')) {
    const [x, y] = [first.op.inputs[0], first.op.outputs[0]];
    const [op] = consumers(g, y);
    if (!op || consumers(g, y).length !== 1 || !ROW_WISE.has(op.op.kind) || g.outputs.includes(y)) continue;
    const z = op.op.outputs[0];
    const [back] = consumers(g, z);
    if (!back || back.op.kind !== 'reshape' || consumers(g, z).length !== 1 || g.outputs.includes(z)) continue;
    const [xs, ys, ws] = [tensor(g, x).shape, tensor(g, y).shape, tensor(g, back.op.outputs[0]).shape];
    if (xs.join() !== ws.join() || xs[xs.length - 1] !== ys[ys.length - 1]) continue;
    op.op.inputs[0] = x;
    op.op.outputs[0] = back.op.outputs[0];
    g.nodes = g.nodes.filter((n: Node) => n !== first && n !== back);
  }
}

/** A reshape of a reshape (read by nothing else) reads the first one's input instead. */
function collapseReshapeChains(g: Graph): void {
  for (const n of g.nodes.filter((m) => m.op.kind === 'reshape')) {
    const x = n.op.inputs[0];
    const before = producer(g, x);
    if (before?.op.kind === 'reshape' && consumers(g, x).length === 1 && !g.outputs.includes(x)) {
      n.op.inputs[0] = before.op.inputs[0];
      g.nodes = g.nodes.filter((m) => m !== before);
    }
  }
}

export function elideReshapes(g: Graph): Graph {
  collapseReshapeChains(g);
  elideReshapePairs(g);
  for (const n of g.nodes.filter((m) => m.op.kind === 'reshape')) {
    const y = n.op.outputs[0];
    if (g.outputs.includes(y)) continue;
    const src = n.op.inputs[0];
    const users = consumers(g, y);
    const sameShape = tensor(g, src).shape.join() === tensor(g, y).shape.join();
    if (!sameShape && !(users.length > 0 && users.every((u) => u.op.kind === 'dense' && u.op.inputs[0] === y)))
      continue;
    // The quantizer gives a reshape its input's parameters, so dropping it changes no scale.
    for (const u of users) u.op.inputs = u.op.inputs.map((i) => (i === y ? src : i)) as typeof u.op.inputs;
    g.nodes = g.nodes.filter((m) => m !== n);
  }
  return g;
}
