// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias).
// Output pixels whose whole window is inside the input take the fast path without bounds checks.
function conv2d(p: PreparedOp, single: boolean): void {
  var x = p.x, w = p.w, bias = p.bias, y = p.y;
  var inH = p.inH, inW = p.inW, inC = p.inC, outH = p.outH, outW = p.outW, outC = p.outC, kH = p.kH, kW = p.kW;
  var sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft, zp = p.inZp;
  var mult = p.mult, shift = p.shift, perChannel = mult.length > 1, depthwise = p.depthwise, m = p.depthMultiplier;
  for (var oy = 0; oy < outH; oy++) {
    var iy0 = oy * sh - pt;
    var rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (var ox = 0; ox < outW; ox++) {
      var ix0 = ox * sw - pl;
      var inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (inside && !depthwise) {
        convPixel(p, x, w, (iy0 * inW + ix0) * inC, (oy * outW + ox) * outC, single);
        continue;
      }
      for (var oc = 0; oc < outC; oc++) {
        var acc = bias[oc];
        var ic0 = depthwise ? Math.floor(oc / m) : 0;
        for (var ky = 0; ky < kH; ky++) {
          var iy = iy0 + ky * dh;
          for (var kx = 0; kx < kW; kx++) {
            var ix = ix0 + kx * dw;
            var xb = (iy * inW + ix) * inC;
            var ok = inside || (iy >= 0 && iy < inH && ix >= 0 && ix < inW);
            if (depthwise) {
              acc += (ok ? x[xb + ic0] : zp) * w[(ky * kW + kx) * outC + oc];
            } else {
              var wb = ((oc * kH + ky) * kW + kx) * inC;
              if (ok) {
                for (var ic = 0; ic < inC; ic++) acc += x[xb + ic] * w[wb + ic];
              } else {
                for (var jc = 0; jc < inC; jc++) acc += zp * w[wb + jc];
              }
            }
          }
        }
        var i = perChannel ? oc : 0;
        var v = mbqm(acc, mult[i], shift[i], single) + p.outZp;
        y[(oy * outW + ox) * outC + oc] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
      }
    }
  }
}

// One output pixel of CONV_2D whose window lies inside the input: no bounds checks, row strides hoisted.
function convPixel(p: PreparedOp, x: Int8Array, w: Int8Array, xBase: number, yBase: number, single: boolean): void {
  var inC = p.inC, kH = p.kH, kW = p.kW, outC = p.outC, bias = p.bias, y = p.y, mult = p.mult, shift = p.shift;
  var rowStep = p.dilH * p.inW * inC, colStep = p.dilW * inC, perChannel = mult.length > 1, taps = kW * inC;
  for (var oc = 0; oc < outC; oc++) {
    var acc = bias[oc];
    var wb = oc * kH * taps;
    var xr = xBase;
    for (var ky = 0; ky < kH; ky++) {
      var xb = xr;
      for (var kx = 0; kx < kW; kx++) {
        for (var ic = 0; ic < inC; ic++) acc += x[xb + ic] * w[wb + ic];
        xb += colStep;
        wb += inC;
      }
      xr += rowStep;
    }
    var i = perChannel ? oc : 0;
    var v = mbqm(acc, mult[i], shift[i], single) + p.outZp;
    y[yBase + oc] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
  }
}
