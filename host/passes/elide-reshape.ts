// Removes reshapes the device does not need: a reshape of a reshape collapses into one, a reshape to the same shape
// disappears, and a reshape read only by fully-connected layers goes (FULLY_CONNECTED flattens its input itself).
// Reshapes that give a graph output its shape stay.

import { consumers, Graph, producer, tensor } from '../ir/graph';

export function elideReshapes(g: Graph): Graph {
  for (const n of g.nodes.filter((m) => m.op.kind === 'reshape')) {
    const x = n.op.inputs[0], y = n.op.outputs[0];
    const before = producer(g, x);
    if (before?.op.kind === 'reshape' && consumers(g, x).length === 1 && !g.outputs.includes(x)) {
      n.op.inputs[0] = before.op.inputs[0];
      g.nodes = g.nodes.filter((m) => m !== before);
    }
    if (g.outputs.includes(y)) continue;
    const src = n.op.inputs[0];
    const users = consumers(g, y);
    const sameShape = tensor(g, src).shape.join() === tensor(g, y).shape.join();
    if (!sameShape && !(users.length > 0 && users.every((u) => u.op.kind === 'dense' && u.op.inputs[0] === y))) continue;
    // The quantizer gives a reshape its input's parameters, so dropping it changes no scale.
    for (const u of users) u.op.inputs = u.op.inputs.map((i) => (i === y ? src : i)) as typeof u.op.inputs;
    g.nodes = g.nodes.filter((m) => m !== n);
  }
  return g;
}
