// FULLY_CONNECTED: y[b,o] = clamp(MBQM(bias[o] + Σ x·w) + zp); the input zero point is folded into bias.
function fullyConnected(p: PreparedOp, single: boolean): void {
  var x = p.x, w = p.w, bias = p.bias, y = p.y, depth = p.depth, outs = p.outs;
  var mult = p.mult, shift = p.shift, perChannel = mult.length > 1;
  for (var b = 0; b < p.batches; b++) {
    var xb = b * depth;
    for (var o = 0; o < outs; o++) {
      var acc = bias[o];
      var wb = o * depth;
      for (var k = 0; k < depth; k++) acc += x[xb + k] * w[wb + k];
      var i = perChannel ? o : 0;
      var v = mbqm(acc, mult[i], shift[i], single) + p.outZp;
      y[b * outs + o] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
    }
  }
}
