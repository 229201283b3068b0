// MAX_POOL_2D / AVERAGE_POOL_2D over the taps inside the input; the average rounds half away from zero.
function pool2d(p: PreparedOp, max: boolean): void {
  const x = p.x, y = p.y, inH = p.inH, inW = p.inW, C = p.inC, xo = p.xOff, yo = p.yOff;
  for (let oy = 0; oy < p.outH; oy++) {
    for (let ox = 0; ox < p.outW; ox++) {
      for (let c = 0; c < C; c++) {
        let acc = max ? -128 : 0;
        let count = 0;
        for (let ky = 0; ky < p.kH; ky++) {
          const iy = oy * p.strideH - p.padTop + ky;
          if (iy >= 0 && iy < inH) {
            for (let kx = 0; kx < p.kW; kx++) {
              const ix = ox * p.strideW - p.padLeft + kx;
              if (ix >= 0 && ix < inW) {
                const v = x[xo + (iy * inW + ix) * C + c];
                if (max) {
                  if (v > acc) acc = v;
                } else acc += v;
                count++;
              }
            }
          }
        }
        let r = acc;
        if (!max) {
          const half = floor(count / 2);
          r = acc > 0 ? floor((acc + half) / count) : -floor((half - acc) / count);
        }
        y[yo + (oy * p.outW + ox) * C + c] = r < p.actMin ? p.actMin : r > p.actMax ? p.actMax : r;
      }
    }
  }
}
