// FULLY_CONNECTED: y[b,o] = clamp(MBQM(bias[o] + Σ x·w) + zp); the input zero point is folded into bias.
// A batch row's sums go into the accumulator row (denseDots) and are requantized together (requantizeRow).
function fullyConnected(p: PreparedOp): void {
  const n = p.depth,
    outs = p.outs,
    xViews = p.xRows.length;
  for (let b = 0; b < p.batches; b++) {
    const xView = b < xViews ? p.xRows[b] : null; // a local: as an argument, Lua would build an array to order its evaluation
    denseDots(p, n, outs, p.x, p.xOff + b * n, xView, p.acc);
    requantizeRow(p, p.acc, outs, p.y, p.yOff + b * outs);
  }
}

/**
 * acc[o] = bias[o] + Σ_{k<n} x[xb + k]·w[wOff + o·n + k] for o < outs: FULLY_CONNECTED's batch row, or CONV_2D's
 * gathered window. Through the engine's native dot product where it has one (native-dot.ts; E.convolve takes the
 * input as xView, an array of its own, when there is one), else dotRows.
 */
function denseDots(p: PreparedOp, n: number, outs: number, x: Buf, xb: number, xView: any, acc: Buf): void {
  const dot = p.dot,
    w = p.w,
    wOff = p.wOff,
    bias = p.bias;
  const native = dot === DOT_S8 ? outs : dot === DOT_CONVOLVE && xView !== null ? p.wRows.length : 0;
  for (let o = 0; o < native; o++)
    acc[o] = bias[o] + (dot === DOT_S8 ? dot_s8(w, wOff + o * n, x, xb, n) : E.convolve(p.wRows[o], xView, 0));
  dotRows(w, wOff, n, x, xb, bias, acc, native, outs);
}

/**
 * acc[o] = bias[o] + Σ_{k<n} x[xb + k]·w[wOff + o·n + k] for o from `from` to `to` (exclusive): four rows per pass
 * share every read of x (one multiply-add per weight), then the rest one by one. FULLY_CONNECTED's outputs, and
 * CONV_2D's channels over a gathered window.
 */
function dotRows(
  w: Buf,
  wOff: number,
  n: number,
  x: Buf,
  xb: number,
  bias: Buf,
  acc: Buf,
  from: number,
  to: number,
): void {
  // k runs over x itself, so row i's weight is at (its start − xb) + k: no addition for x's index.
  const xEnd = xb + n;
  let o = from;
  for (; o + 3 < to; o += 4) {
    const d0 = wOff + o * n - xb,
      d1 = d0 + n,
      d2 = d1 + n,
      d3 = d2 + n;
    let a0 = bias[o],
      a1 = bias[o + 1],
      a2 = bias[o + 2],
      a3 = bias[o + 3];
    for (let k = xb; k < xEnd; k++) {
      const xk = x[k];
      a0 += xk * w[d0 + k];
      a1 += xk * w[d1 + k];
      a2 += xk * w[d2 + k];
      a3 += xk * w[d3 + k];
    }
    acc[o] = a0;
    acc[o + 1] = a1;
    acc[o + 2] = a2;
    acc[o + 3] = a3;
  }
  for (; o < to; o++) {
    const d0 = wOff + o * n - xb;
    let a = bias[o];
    for (let k = xb; k < xEnd; k++) a += x[k] * w[d0 + k];
    acc[o] = a;
  }
}
