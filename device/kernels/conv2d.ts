// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias):
// a pixel whose window crosses the border has its window gathered, zero point included, into the op's patch
// (gatherWindow), so the bounds are checked once per tap and pixel, and every pixel takes the same inner loops.
// Everything an output pixel needs is read off the op once, here: a property read costs an interpreter as much
// as several multiply-adds (Duktape: ~100 ns).
function conv2d(p: PreparedOp): void {
  const x = p.x, xo = p.xOff, inH = p.inH, inW = p.inW, inC = p.inC, outH = p.outH, outW = p.outW, outC = p.outC, kH = p.kH, kW = p.kW;
  const sh = p.strideH, sw = p.strideW, dh = p.dilH, dw = p.dilW, pt = p.padTop, pl = p.padLeft;
  const depthwise = p.depthwise, patch = p.patch, offsets = p.tapOffsets, patchOffsets = p.patchOffsets, n = p.taps;
  const w = p.w, wOff = p.wOff, bias = p.bias, acc = p.acc, y = p.y, dot = p.dot, wRows = p.wRows, inChannel = p.depthInChannel;
  const rq = p.rq, jStep = p.perChannel ? 4 : 0, zp = p.outZp, lo = p.actMin, hi = p.actMax;
  const native = depthwise ? 0 : dot === DOT_S8 ? outC : dot === DOT_CONVOLVE ? wRows.length : 0;
  let yBase = p.yOff;
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl, xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (!inside) gatherWindow(p, iy0, ix0);
      if (!depthwise) {
        // Every output channel is one contiguous dot product over the gathered window (which a native dot product
        // takes whole).
        if (inside) for (let t = 0; t < n; t++) patch[t] = x[xb + offsets[t]];
        for (let oc = 0; oc < native; oc++) acc[oc] = bias[oc] + (dot === DOT_S8 ? dot_s8(w, wOff + oc * n, patch, 0, n) : E.convolve(wRows[oc], patch, 0));
        dotRows(w, wOff, n, patch, 0, bias, acc, native, outC);
      } else {
        // Over the accumulator row, three taps per pass (a 3×3 window's row): the loops run over the channels
        // rather than over the few taps (9 for 3×3), which a tracing JIT needs and costs interpreters nothing. Taps
        // are read from the input (or the gathered patch) at their offsets plus each output channel's input
        // channel; a tap's weights are outC apart.
        const src = inside ? x : patch, tapAt = inside ? offsets : patchOffsets, x0 = inside ? xb : 0;
        for (let c = 0; c < outC; c++) acc[c] = bias[c];
        let wt = wOff, t = 0;
        for (; t + 2 < n; t += 3) {
          const xt = x0 + tapAt[t], xu = x0 + tapAt[t + 1], xv = x0 + tapAt[t + 2], wu = wt + outC, wv = wu + outC;
          for (let c = 0; c < outC; c++) {
            const i = inChannel[c];
            acc[c] += src[xt + i] * w[wt + c] + src[xu + i] * w[wu + c] + src[xv + i] * w[wv + c];
          }
          wt = wv + outC;
        }
        for (; t < n; t++) {
          const xt = x0 + tapAt[t];
          for (let c = 0; c < outC; c++) acc[c] += src[xt + inChannel[c]] * w[wt + c];
          wt += outC;
        }
      }
      requantizeRow(p, acc, rq, outC, jStep, zp, lo, hi, y, yBase);
      yBase += outC;
    }
  }
}

// The kH·kW·inC taps of the window at (iy0, ix0) into the op's patch in weight order, the input zero point
// where a tap lies outside the input.
function gatherWindow(p: PreparedOp, iy0: number, ix0: number): void {
  const x = p.x, xo = p.xOff, patch = p.patch, inH = p.inH, inW = p.inW, inC = p.inC, kH = p.kH, kW = p.kW, zp = p.inZp, dh = p.dilH, dw = p.dilW;
  let t = 0;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dh;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dw, xb = xo + (iy * inW + ix) * inC;
      const ok = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      for (let c = 0; c < inC; c++) patch[t + c] = ok ? x[xb + c] : zp;
      t += inC;
    }
  }
}
