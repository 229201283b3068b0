// Folds a zero PAD of H/W into the padding of the convolution that reads it. Equivalent in int8 too: TFLite pads
// with the input zero point when the pad value is 0, which is what a convolution's own padding means.

import { consumers, type Graph, producer, tensor } from '../ir/graph';

export function foldPadIntoConv(g: Graph): Graph {
  for (const pad of g.nodes.filter((n) => n.op.kind === 'pad')) {
    const op = pad.op as Extract<typeof pad.op, { kind: 'pad' }>;
    const y = op.outputs[0];
    const users = consumers(g, y);
    if (op.attrs.value !== 0 || tensor(g, y).quant || g.outputs.includes(y) || users.length !== 1) continue;
    const conv = users[0];
    if ((conv.op.kind !== 'conv2d' && conv.op.kind !== 'depthwise_conv2d') || conv.op.inputs[0] !== y) continue;
    const p = op.attrs.pads;
    // NHWC pads [n, h, w, c] begins then ends: only H and W may be padded.
    if (p.length !== 8 || p[0] || p[3] || p[4] || p[7]) continue;
    const a = conv.op.attrs;
    a.pads = [a.pads[0] + p[1], a.pads[1] + p[2], a.pads[2] + p[5], a.pads[3] + p[6]];
    conv.op.inputs[0] = op.inputs[0];
    g.nodes = g.nodes.filter((n) => n !== pad);
    if (!producer(g, y)) g.tensors.delete(y);
  }
  return g;
}
