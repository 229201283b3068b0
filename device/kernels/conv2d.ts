// CONV_2D / DEPTHWISE_CONV_2D. Taps outside the input read the input zero point (cancelled by the folded bias):
// a pixel whose window crosses the border has its window gathered, zero point included, into the op's patch
// (gatherWindow), so the bounds are checked once per tap and pixel, and every pixel takes the same inner loops.
// Everything an output pixel needs is read off the op once, here: a property read costs an interpreter as much
// as several multiply-adds (Duktape: ~100 ns).
function conv2d(p: PreparedOp): void {
  const x = p.x,
    xo = p.xOff,
    inH = p.inH,
    inW = p.inW,
    inC = p.inC,
    outH = p.outH,
    outW = p.outW,
    outC = p.outC,
    kH = p.kH,
    kW = p.kW;
  const sh = p.strideH,
    sw = p.strideW,
    dh = p.dilH,
    dw = p.dilW,
    pt = p.padTop,
    pl = p.padLeft;
  const depthwise = p.code === OpCode_DEPTHWISE_CONV_2D,
    patch = p.patch,
    pairPatch = p.pairPatch,
    offsets = p.tapOffsets,
    patchOffsets = p.patchOffsets,
    n = p.taps;
  const w = p.w,
    wOff = p.wOff,
    bias = p.bias,
    acc = p.acc,
    pairAcc = p.pairAcc,
    y = p.y,
    inChannel = p.depthInChannel,
    pairs = p.dot === DOT_NONE;
  let yBase = p.yOff,
    waiting = -1; // CONV_2D: where the output of the pixel whose window waits in patch goes, or -1
  for (let oy = 0; oy < outH; oy++) {
    const iy0 = oy * sh - pt;
    const rowsInside = iy0 >= 0 && iy0 + (kH - 1) * dh < inH;
    for (let ox = 0; ox < outW; ox++) {
      const ix0 = ox * sw - pl,
        xb = xo + (iy0 * inW + ix0) * inC;
      const inside = rowsInside && ix0 >= 0 && ix0 + (kW - 1) * dw < inW;
      if (!depthwise) {
        // Every output channel is one contiguous dot product over the gathered window. Windows go two at a time
        // (the second into pairPatch), so that each weight read serves two pixels (dotRowsPair).
        const into = waiting < 0 ? patch : pairPatch;
        if (inside) for (let t = 0; t < n; t++) into[t] = x[xb + offsets[t]];
        else gatherWindow(p, iy0, ix0, into);
        if (waiting < 0) waiting = yBase;
        else {
          if (pairs) dotRowsPair(w, wOff, n, patch, pairPatch, bias, acc, pairAcc, outC);
          else {
            denseDots(p, n, outC, patch, 0, patch, acc);
            denseDots(p, n, outC, pairPatch, 0, pairPatch, pairAcc);
          }
          requantizeRow(p, acc, outC, y, waiting);
          requantizeRow(p, pairAcc, outC, y, yBase);
          waiting = -1;
        }
      } else {
        // Over the accumulator row, three taps per pass (a 3×3 window's row): the loops run over the channels
        // rather than over the few taps (9 for 3×3), which a tracing JIT needs and costs interpreters nothing. Taps
        // are read from the input (or the gathered patch) at their offsets plus each output channel's input
        // channel; a tap's weights are outC apart.
        if (!inside) gatherWindow(p, iy0, ix0, patch);
        const src = inside ? x : patch,
          tapAt = inside ? offsets : patchOffsets,
          x0 = inside ? xb : 0;
        for (let c = 0; c < outC; c++) acc[c] = bias[c];
        let wt = wOff,
          t = 0;
        for (; t + 2 < n; t += 3) {
          const xt = x0 + tapAt[t],
            xu = x0 + tapAt[t + 1],
            xv = x0 + tapAt[t + 2],
            wu = wt + outC,
            wv = wu + outC;
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
        requantizeRow(p, acc, outC, y, yBase);
      }
      yBase += outC;
    }
  }
  if (waiting >= 0) {
    denseDots(p, n, outC, patch, 0, patch, acc);
    requantizeRow(p, acc, outC, y, waiting);
  }
}

/**
 * dotRows over two windows at once (x, z: each n taps from 0) into acc and acc2, for rows 0 to `to`: four rows per
 * pass, each weight read once for both windows, the eight sums in locals (a 2×4 register block, as GEMM kernels
 * do); the last to % 4 rows by dotRows. An interpreter's cost is its reads and index arithmetic: here 6 reads and
 * 4 index additions per 8 multiply-adds, against 5 and 4 per 4 in dotRows.
 */
function dotRowsPair(
  w: Buf,
  wOff: number,
  n: number,
  x: Buf,
  z: Buf,
  bias: Buf,
  acc: Buf,
  acc2: Buf,
  to: number,
): void {
  let o = 0;
  for (; o + 3 < to; o += 4) {
    const d0 = wOff + o * n,
      d1 = d0 + n,
      d2 = d1 + n,
      d3 = d2 + n;
    let a0 = bias[o],
      a1 = bias[o + 1],
      a2 = bias[o + 2],
      a3 = bias[o + 3],
      b0 = a0,
      b1 = a1,
      b2 = a2,
      b3 = a3;
    for (let k = 0; k < n; k++) {
      const xk = x[k],
        zk = z[k],
        w0 = w[d0 + k],
        w1 = w[d1 + k],
        w2 = w[d2 + k],
        w3 = w[d3 + k];
      a0 += xk * w0;
      a1 += xk * w1;
      a2 += xk * w2;
      a3 += xk * w3;
      b0 += zk * w0;
      b1 += zk * w1;
      b2 += zk * w2;
      b3 += zk * w3;
    }
    acc[o] = a0;
    acc[o + 1] = a1;
    acc[o + 2] = a2;
    acc[o + 3] = a3;
    acc2[o] = b0;
    acc2[o + 1] = b1;
    acc2[o + 2] = b2;
    acc2[o + 3] = b3;
  }
  dotRows(w, wOff, n, x, 0, bias, acc, o, to);
  dotRows(w, wOff, n, z, 0, bias, acc2, o, to);
}

// The kH·kW·inC taps of the window at (iy0, ix0) into patch in weight order, the input zero point where a tap lies
// outside the input.
function gatherWindow(p: PreparedOp, iy0: number, ix0: number, patch: Buf): void {
  const x = p.x,
    xo = p.xOff,
    inH = p.inH,
    inW = p.inW,
    inC = p.inC,
    kH = p.kH,
    kW = p.kW,
    zp = p.inZp,
    dh = p.dilH,
    dw = p.dilW;
  let t = 0;
  for (let ky = 0; ky < kH; ky++) {
    const iy = iy0 + ky * dh;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ix0 + kx * dw,
        xb = xo + (iy * inW + ix) * inC;
      const ok = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      for (let c = 0; c < inC; c++) patch[t + c] = ok ? x[xb + c] : zp;
      t += inC;
    }
  }
}
