// MAX_POOL_2D / AVERAGE_POOL_2D over the taps inside the input; the average rounds half away from zero. The
// window is clipped once per output pixel (like TFLM's reference kernel).
function pool2d(p: PreparedOp, max: boolean): void {
  const x = p.x,
    y = p.y,
    inH = p.inH,
    inW = p.inW,
    C = p.inC,
    xo = p.xOff,
    kH = p.kH,
    kW = p.kW;
  const lo = p.actMin,
    hi = p.actMax,
    outH = p.outH,
    outW = p.outW,
    start = max ? -128 : 0;
  let yb = p.yOff;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * p.strideH - p.padTop;
    const ys = iy0 < 0 ? -iy0 : 0,
      ye = iy0 + kH > inH ? inH - iy0 : kH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * p.strideW - p.padLeft;
      const xs = ix0 < 0 ? -ix0 : 0,
        xe = ix0 + kW > inW ? inW - ix0 : kW;
      const count = (ye - ys) * (xe - xs),
        half = floor(count / 2),
        x0 = xo + ((iy0 + ys) * inW + ix0 + xs) * C,
        rowStep = inW * C;
      // Channel by channel over the clipped window, the running max or sum in a local.
      for (let c = 0; c < C; c++) {
        let r = start,
          xr = x0 + c;
        for (let ky = ys; ky < ye; ky++) {
          let xb = xr;
          if (TRACING_JIT && max) {
            for (let kx = xs; kx < xe; kx++) {
              r = Math.max(r, x[xb]); // no data-dependent branch (api.d.ts)
              xb += C;
            }
          } else if (max) {
            for (let kx = xs; kx < xe; kx++) {
              const v = x[xb];
              if (v > r) r = v;
              xb += C;
            }
          } else {
            for (let kx = xs; kx < xe; kx++) {
              r += x[xb];
              xb += C;
            }
          }
          xr += rowStep;
        }
        if (!max) r = r > 0 ? floor((r + half) / count) : -floor((half - r) / count);
        if (r < lo) r = lo;
        else if (r > hi) r = hi;
        y[yb + c] = r;
      }
      yb += C;
    }
  }
}
