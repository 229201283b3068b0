// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias):
// a pixel whose window crosses the border has its window gathered, zero point included, into the op's patch
// (gatherWindow), so the bounds are checked once per tap and pixel, and every pixel takes the same inner loops.
function conv2d(p: PreparedOp): void {
  const x = p.x, xo = p.xOff, inH = p.inH, inW = p.inW, inC = p.inC, outH = p.outH, outW = p.outW, outC = p.outC, kH = p.kH, kW = p.kW;
  const sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft;
  const depthwise = p.depthwise, patch = p.patch, offsets = p.tapOffsets, n = p.taps;
  let yBase = p.yOff;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl, xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (!inside) gatherWindow(p, iy0, ix0);
      if (!depthwise) {
        if (inside) for (let t = 0; t < n; t++) patch[t] = x[xb + offsets[t]];
        convPixel(p, yBase);
      } else if (inside) depthwisePixel(p, x, xb, offsets, yBase);
      else depthwisePixel(p, patch, 0, p.patchOffsets, yBase);
      yBase += outC;
    }
  }
}

// The kH·kW·inC taps of the window at (iy0, ix0) into the op's patch in weight order, the input zero point
// where a tap lies outside the input.
function gatherWindow(p: PreparedOp, iy0: number, ix0: number): void {
  const x = p.x, patch = p.patch, inH = p.inH, inW = p.inW, inC = p.inC, kH = p.kH, kW = p.kW, zp = p.inZp;
  let t = 0;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * p.dilH;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * p.dilW, xb = p.xOff + (iy * inW + ix) * inC;
      const ok = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      for (let c = 0; c < inC; c++) patch[t + c] = ok ? x[xb + c] : zp;
      t += inC;
    }
  }
}

// One output pixel of CONV_2D from its gathered window: every output channel is one contiguous dot product
// over the patch (which a native dot product takes whole), into the op's accumulator row, then requantized.
function convPixel(p: PreparedOp, yBase: number): void {
  const w = p.w, outC = p.outC, bias = p.bias, acc = p.acc, dot = p.dot, wRows = p.wRows, patch = p.patch;
  const n = p.taps, n4 = n - n % 4, native = dot === DOT_S8 ? outC : dot === DOT_CONVOLVE ? wRows.length : 0;
  for (let oc = 0; oc < native; oc++) acc[oc] = bias[oc] + (dot === DOT_S8 ? dot_s8(w, p.wOff + oc * n, patch, 0, n) : E.convolve(wRows[oc], patch, 0));
  // Two output channels per pass share every patch read, and the dot is unrolled by 4 (as in fullyConnected);
  // an odd last channel is summed twice over the same weights.
  for (let oc = native; oc < outC; oc += 2) {
    const wb = p.wOff + oc * n, wb2 = oc + 1 < outC ? wb + n : wb;
    let a0 = bias[oc], a1 = 0;
    for (let t = 0; t < n4; t += 4) {
      const u = wb + t, v = wb2 + t, x0 = patch[t], x1 = patch[t + 1], x2 = patch[t + 2], x3 = patch[t + 3];
      a0 += x0 * w[u] + x1 * w[u + 1] + x2 * w[u + 2] + x3 * w[u + 3];
      a1 += x0 * w[v] + x1 * w[v + 1] + x2 * w[v + 2] + x3 * w[v + 3];
    }
    for (let t = n4; t < n; t++) {
      a0 += patch[t] * w[wb + t];
      a1 += patch[t] * w[wb2 + t];
    }
    acc[oc] = a0;
    if (oc + 1 < outC) acc[oc + 1] = a1 + bias[oc + 1];
  }
  requantizeRow(p, p.y, yBase);
}

// One output pixel of DEPTHWISE_CONV_2D: channel by channel, the window's taps read from `src` (the input, or
// the gathered patch) at x0 plus their offsets, the weights outC apart, summed in a local, then requantized.
function depthwisePixel(p: PreparedOp, src: Buf, x0: number, offsets: Buf, yBase: number): void {
  const w = p.w, bias = p.bias, acc = p.acc, outC = p.outC, taps = p.taps, m = p.depthMultiplier;
  for (let c = 0; c < outC; c++) {
    const xc = x0 + (m === 1 ? c : floor(c / m));
    let a = bias[c], wk = p.wOff + c;
    for (let t = 0; t < taps; t++) {
      a += src[xc + offsets[t]] * w[wk];
      wk += outC;
    }
    acc[c] = a;
  }
  requantizeRow(p, p.y, yBase);
}
