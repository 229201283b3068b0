// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias).
// Output pixels whose whole window is inside the input take the fast path without bounds checks.
function conv2d(p: PreparedOp, single: boolean): void {
  const x = p.x, w = p.w, bias = p.bias, y = p.y, xo = p.xOff, wo = p.wOff, yo = p.yOff;
  const inH = p.inH, inW = p.inW, inC = p.inC, outH = p.outH, outW = p.outW, outC = p.outC, kH = p.kH, kW = p.kW;
  const sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft, zp = p.inZp;
  const mult = p.mult, shift = p.shift, perChannel = p.perChannel, depthwise = p.depthwise, m = p.depthMultiplier;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (inside && !depthwise) convPixel(p, iy0, ix0, yo + (oy * outW + ox) * outC, single);
      else if (inside && m === 1) depthwisePixel(p, iy0, ix0, yo + (oy * outW + ox) * outC, single);
      else {
        for (let oc = 0; oc < outC; oc++) {
          let acc = bias[oc];
          const ic0 = depthwise ? floor(oc / m) : 0;
          for (let ky = 0; ky < kH; ky++) {
            const iy = iy0 + ky * dh;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ix0 + kx * dw;
              const xb = xo + (iy * inW + ix) * inC;
              const ok = inside || (iy >= 0 && iy < inH && ix >= 0 && ix < inW);
              if (depthwise) {
                acc += (ok ? x[xb + ic0] : zp) * w[wo + (ky * kW + kx) * outC + oc];
              } else {
                const wb = wo + ((oc * kH + ky) * kW + kx) * inC;
                if (ok) {
                  for (let ic = 0; ic < inC; ic++) acc += x[xb + ic] * w[wb + ic];
                } else {
                  for (let jc = 0; jc < inC; jc++) acc += zp * w[wb + jc];
                }
              }
            }
          }
          const i = perChannel ? oc : 0;
          const v = mbqm(acc, mult[i], shift[i], single) + p.outZp;
          y[yo + (oy * outW + ox) * outC + oc] = v < p.actMin ? p.actMin : v > p.actMax ? p.actMax : v;
        }
      }
    }
  }
}

// One output pixel of CONV_2D whose window lies inside the input: no bounds checks. The window's kH·kW·inC
// taps are gathered in weight order (offsets computed at load, dilation included) into the op's patch, so
// every output channel is one contiguous dot product, which a native dot product takes whole.
function convPixel(p: PreparedOp, iy0: number, ix0: number, yBase: number, single: boolean): void {
  const x = p.x, w = p.w, outC = p.outC, bias = p.bias, y = p.y, mult = p.mult, shift = p.shift, perChannel = p.perChannel;
  const dot = p.dot, wRows = p.wRows, offsets = p.tapOffsets, n = offsets.length, patch = p.patch;
  const xBase = p.xOff + (iy0 * p.inW + ix0) * p.inC, outZp = p.outZp, lo = p.actMin, hi = p.actMax;
  for (let t = 0; t < n; t++) patch[t] = x[xBase + offsets[t]];
  let wb = p.wOff;
  for (let oc = 0; oc < outC; oc++) {
    let acc = bias[oc];
    if (dot === DOT_S8) acc += dot_s8(w, wb, patch, 0, n);
    else if (dot === DOT_CONVOLVE && oc < wRows.length) acc += E.convolve(wRows[oc], patch, 0);
    else for (let t = 0; t < n; t++) acc += patch[t] * w[wb + t];
    wb += n;
    const i = perChannel ? oc : 0;
    const v = mbqm(acc, mult[i], shift[i], single) + outZp;
    y[yBase + oc] = v < lo ? lo : v > hi ? hi : v;
  }
}

// One output pixel of DEPTHWISE_CONV_2D (depth multiplier 1) whose window lies inside the input: channels
// innermost, so input and weights are both read in runs of outC, summed into the op's accumulator row.
function depthwisePixel(p: PreparedOp, iy0: number, ix0: number, yBase: number, single: boolean): void {
  const x = p.x, w = p.w, acc = p.acc, bias = p.bias, y = p.y, mult = p.mult, shift = p.shift, perChannel = p.perChannel;
  const outC = p.outC, kH = p.kH, kW = p.kW, rowStep = p.dilH * p.inW * outC, colStep = p.dilW * outC;
  const outZp = p.outZp, lo = p.actMin, hi = p.actMax;
  for (let c = 0; c < outC; c++) acc[c] = bias[c];
  let xr = p.xOff + (iy0 * p.inW + ix0) * outC, wk = p.wOff;
  for (let ky = 0; ky < kH; ky++) {
    let xb = xr;
    for (let kx = 0; kx < kW; kx++) {
      for (let c = 0; c < outC; c++) acc[c] += x[xb + c] * w[wk + c];
      xb += colStep;
      wk += outC;
    }
    xr += rowStep;
  }
  for (let c = 0; c < outC; c++) {
    const i = perChannel ? c : 0;
    const v = mbqm(acc[c], mult[i], shift[i], single) + outZp;
    y[yBase + c] = v < lo ? lo : v > hi ? hi : v;
  }
}
