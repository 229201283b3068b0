// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias):
// a pixel whose window crosses the border has its window gathered, zero point included, into the op's patch
// (gatherWindow), so the bounds are checked once per tap and pixel, and every pixel takes the same inner loops.
function conv2d(p: PreparedOp): void {
  const x = p.x, xo = p.xOff, inH = p.inH, inW = p.inW, inC = p.inC, outW = p.outW, outC = p.outC, kH = p.kH, kW = p.kW;
  const sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft;
  const depthwise = p.depthwise, patch = p.patch, offsets = p.tapOffsets, n = offsets.length;
  const rowStep = dh * inW * inC, colStep = dw * inC;
  let yBase = p.yOff;
  for (let oy = 0; oy < p.outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl, xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (!inside) gatherWindow(p, iy0, ix0);
      if (!depthwise) {
        if (inside) for (let t = 0; t < n; t++) patch[t] = x[xb + offsets[t]];
        convPixel(p, yBase);
      } else if (inside) depthwisePixel(p, x, xb, rowStep, colStep, yBase);
      else depthwisePixel(p, patch, 0, kW * inC, inC, yBase);
      yBase += outC;
    }
  }
}

// The kH·kW·inC taps of the window at (iy0, ix0) into the op's patch in weight order, the input zero point
// where a tap lies outside the input.
function gatherWindow(p: PreparedOp, iy0: number, ix0: number): void {
  const x = p.x, patch = p.patch, inH = p.inH, inW = p.inW, inC = p.inC, kW = p.kW, zp = p.inZp;
  let t = 0;
  for (let ky = 0; ky < p.kH; ky++) {
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
// over the patch, which a native dot product takes whole.
function convPixel(p: PreparedOp, yBase: number): void {
  const w = p.w, outC = p.outC, bias = p.bias, y = p.y, perChannel = p.perChannel;
  const dot = p.dot, wRows = p.wRows, patch = p.patch, n = p.tapOffsets.length, n4 = n - n % 4;
  const rq = p.rq, zp = p.outZp, lo = p.actMin, hi = p.actMax, jStep = perChannel ? 4 : 0;
  let wb = p.wOff, j = 0;
  for (let oc = 0; oc < outC; oc++) {
    let acc = bias[oc];
    if (dot === DOT_S8) acc += dot_s8(w, wb, patch, 0, n);
    else if (dot === DOT_CONVOLVE && oc < wRows.length) acc += E.convolve(wRows[oc], patch, 0);
    else {
      // Unrolled by 4, as in fullyConnected.
      for (let t = 0; t < n4; t += 4) {
        const wt = wb + t;
        acc += patch[t] * w[wt] + patch[t + 1] * w[wt + 1] + patch[t + 2] * w[wt + 2] + patch[t + 3] * w[wt + 3];
      }
      for (let t = n4; t < n; t++) acc += patch[t] * w[wb + t];
    }
    wb += n;
    // requantize(acc, p, oc) inlined (statements, not conditional expressions: fewer Lua instructions).
    const q = acc * rq[j];
    let v = zp;
    if (q < TWO52 && q > -TWO52) {
      let k = rq[j + 1];
      if (q < -TWO30) k = rq[j + 2];
      v += floor((q + k) * rq[j + 3]);
    } else v += mbqm(acc, p.mult[j / 4], p.shift[j / 4], p.single);
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    y[yBase + oc] = v;
    j += jStep;
  }
}

// One output pixel of DEPTHWISE_CONV_2D: channel by channel, the window's taps read from `src` (the input,
// or the gathered patch) at x0 and rowStep / colStep apart, the weights outC apart, summed in a local.
function depthwisePixel(p: PreparedOp, src: Buf, x0: number, rowStep: number, colStep: number, yBase: number): void {
  const w = p.w, bias = p.bias, y = p.y, outC = p.outC, kH = p.kH, kW = p.kW, m = p.depthMultiplier;
  const rq = p.rq, zp = p.outZp, lo = p.actMin, hi = p.actMax, jStep = p.perChannel ? 4 : 0;
  let j = 0;
  for (let c = 0; c < outC; c++) {
    let acc = bias[c], xr = x0 + (m === 1 ? c : floor(c / m)), wk = p.wOff + c;
    for (let ky = 0; ky < kH; ky++) {
      let xb = xr;
      for (let kx = 0; kx < kW; kx++) {
        acc += src[xb] * w[wk];
        xb += colStep;
        wk += outC;
      }
      xr += rowStep;
    }
    // requantize(acc, p, c) inlined, as in convPixel.
    const q = acc * rq[j];
    let v = zp;
    if (q < TWO52 && q > -TWO52) {
      let k = rq[j + 1];
      if (q < -TWO30) k = rq[j + 2];
      v += floor((q + k) * rq[j + 3]);
    } else v += mbqm(acc, p.mult[j / 4], p.shift[j / 4], p.single);
    if (v < lo) v = lo;
    else if (v > hi) v = hi;
    y[yBase + c] = v;
    j += jStep;
  }
}
