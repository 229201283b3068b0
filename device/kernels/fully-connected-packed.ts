// FULLY_CONNECTED with packed or sparse weights (kernels/packed-weights.ts): the same arithmetic as
// fullyConnected, over the nonzero weights only, rows in order (packedRowDot).
function fullyConnectedPacked(p: PreparedOp): void {
  let w = p.packed!,
    x = p.x,
    y = p.y,
    bias = p.bias,
    depth = p.depth,
    outs = p.outs;
  packedReset(w);
  for (let o = 0; o < outs; o++) {
    packedRow(w, o);
    for (let b = 0; b < p.batches; b++) {
      y[p.yOff + b * outs + o] = requantize(bias[o] + packedRowDot(w, x, p.xOff + b * depth), p, o);
    }
  }
}
