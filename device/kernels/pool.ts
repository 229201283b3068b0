// MAX_POOL_2D / AVERAGE_POOL_2D over the taps inside the input; the average rounds half away from zero.
function pool2d(p: PreparedOp, max: boolean): void {
  var x = p.x, y = p.y, inH = p.inH, inW = p.inW, C = p.inC;
  for (var oy = 0; oy < p.outH; oy++) {
    for (var ox = 0; ox < p.outW; ox++) {
      for (var c = 0; c < C; c++) {
        var acc = max ? -128 : 0;
        var count = 0;
        for (var ky = 0; ky < p.kH; ky++) {
          var iy = oy * p.strideH - p.padTop + ky;
          if (iy < 0 || iy >= inH) continue;
          for (var kx = 0; kx < p.kW; kx++) {
            var ix = ox * p.strideW - p.padLeft + kx;
            if (ix < 0 || ix >= inW) continue;
            var v = x[(iy * inW + ix) * C + c];
            if (max) { if (v > acc) acc = v; } else acc += v;
            count++;
          }
        }
        var r = acc;
        if (!max) {
          var half = Math.floor(count / 2);
          r = acc > 0 ? Math.floor((acc + half) / count) : -Math.floor((half - acc) / count);
        }
        y[(oy * p.outW + ox) * C + c] = r < p.actMin ? p.actMin : r > p.actMax ? p.actMax : r;
      }
    }
  }
}
