// FULLY_CONNECTED with packed or sparse weights (kernels/packed-weights.ts): the same arithmetic as
// fullyConnected, over the nonzero weights only, rows in order (packedRowDot).
function fullyConnectedPacked(p: PreparedOp, single: boolean): void {
  var w = p.packed!, x = p.x, y = p.y, bias = p.bias, depth = p.depth, outs = p.outs;
  var mult = p.mult, shift = p.shift, perChannel = mult.length > 1;
  packedReset(w);
  for (var o = 0; o < outs; o++) {
    packedRow(w, o);
    var i = perChannel ? o : 0;
    for (var b = 0; b < p.batches; b++) {
      var v = mbqm(bias[o] + packedRowDot(w, x, b * depth), mult[i], shift[i], single) + p.outZp;
      y[b * outs + o] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
    }
  }
}
