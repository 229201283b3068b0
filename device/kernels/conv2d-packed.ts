// CONV_2D with packed or sparse weights (kernels/packed-weights.ts): output channel by output channel, each
// pixel sums over the channel's nonzero taps only. Taps outside the input read the input zero point, as in conv2d.
function conv2dPacked(p: PreparedOp, single: boolean): void {
  var w = p.packed!, x = p.x, y = p.y, bias = p.bias;
  var inH = p.inH, inW = p.inW, inC = p.inC, outH = p.outH, outW = p.outW, outC = p.outC, taps = p.kW * inC;
  var sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft, zp = p.inZp;
  var mult = p.mult, shift = p.shift, perChannel = mult.length > 1;
  packedReset(w);
  for (var oc = 0; oc < outC; oc++) {
    packedRow(w, oc);
    var i = perChannel ? oc : 0;
    for (var oy = 0; oy < outH; oy++) {
      var iy0 = oy * sh - pt;
      for (var ox = 0; ox < outW; ox++) {
        var ix0 = ox * sw - pl;
        packedRestart(w);
        var acc = bias[oc];
        for (var k = packedNext(w); k >= 0; k = packedNext(w)) {
          var ky = Math.floor(k / taps);
          var kx = Math.floor((k - ky * taps) / inC);
          var iy = iy0 + ky * dh, ix = ix0 + kx * dw;
          var xv = iy >= 0 && iy < inH && ix >= 0 && ix < inW ? x[(iy * inW + ix) * inC + k - ky * taps - kx * inC] : zp;
          acc += xv * w.value;
        }
        var v = mbqm(acc, mult[i], shift[i], single) + p.outZp;
        y[(oy * outW + ox) * outC + oc] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
      }
    }
  }
}
