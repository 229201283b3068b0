// FULLY_CONNECTED with packed or sparse weights (kernels/packed-weights.ts): the same arithmetic as
// fullyConnected, over the nonzero weights only, rows in order (packedRowDot).
function fullyConnectedPacked(p: PreparedOp, single: boolean): void {
  let w = p.packed!, x = p.x, y = p.y, bias = p.bias, depth = p.depth, outs = p.outs;
  let mult = p.mult, shift = p.shift, perChannel = p.perChannel;
  packedReset(w);
  for (let o = 0; o < outs; o++) {
    packedRow(w, o);
    let i = perChannel ? o : 0;
    for (let b = 0; b < p.batches; b++) {
      let v = mbqm(bias[o] + packedRowDot(w, x, p.xOff + b * depth), mult[i], shift[i], single) + p.outZp;
      y[p.yOff + b * outs + o] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
    }
  }
}
