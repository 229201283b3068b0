// FULLY_CONNECTED: y[b,o] = clamp(MBQM(bias[o] + Σ x·w) + zp); the input zero point is folded into bias.
// A batch row's sums go into the accumulator row, through the engine's native dot product where it has one (see
// native-dot.ts), else dotRows, and are requantized together (requantizeRow).
function fullyConnected(p: PreparedOp): void {
  const x = p.x, w = p.w, wOff = p.wOff, bias = p.bias, y = p.y, n = p.depth, outs = p.outs, dot = p.dot, acc = p.acc;
  const rq = p.rq, jStep = p.perChannel ? 4 : 0, zp = p.outZp, lo = p.actMin, hi = p.actMax, xViews = p.xRows.length;
  for (let b = 0; b < p.batches; b++) {
    const xb = p.xOff + b * n;
    const native = dot === DOT_S8 ? outs : dot === DOT_CONVOLVE && b < xViews ? p.wRows.length : 0;
    for (let o = 0; o < native; o++) acc[o] = bias[o] + (dot === DOT_S8 ? dot_s8(w, wOff + o * n, x, xb, n) : E.convolve(p.wRows[o], p.xRows[b], 0));
    dotRows(w, wOff, n, x, xb, bias, acc, native, outs);
    requantizeRow(p, acc, rq, outs, jStep, zp, lo, hi, y, p.yOff + b * outs);
  }
}

/**
 * acc[o] = bias[o] + Σ_{k<n} x[xb + k]·w[wOff + o·n + k] for o from `from` to `to` (exclusive): four rows per pass
 * share every read of x (one multiply-add per weight), then the rest one by one. FULLY_CONNECTED's outputs, and
 * CONV_2D's channels over a gathered window.
 */
function dotRows(w: Buf, wOff: number, n: number, x: Buf, xb: number, bias: Buf, acc: Buf, from: number, to: number): void {
  // k runs over x itself, so row i's weight is at (its start − xb) + k: no addition for x's index.
  const xEnd = xb + n;
  let o = from;
  for (; o + 3 < to; o += 4) {
    const d0 = wOff + o * n - xb, d1 = d0 + n, d2 = d1 + n, d3 = d2 + n;
    let a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
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
