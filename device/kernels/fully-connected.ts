// FULLY_CONNECTED: y[b,o] = clamp(MBQM(bias[o] + Σ x·w) + zp); the input zero point is folded into bias.
// The inner dot product goes through the engine's native one when it has one (see native-dot.ts).
function fullyConnected(p: PreparedOp): void {
  const x = p.x, w = p.w, bias = p.bias, y = p.y, depth = p.depth, outs = p.outs, dot = p.dot;
  const perChannel = p.perChannel, wViews = p.wRows.length, xViews = p.xRows.length, depth4 = depth - depth % 4;
  for (let b = 0; b < p.batches; b++) {
    const xb = p.xOff + b * depth, yb = p.yOff + b * outs;
    for (let o = 0; o < outs; o++) {
      let acc = bias[o];
      const wb = p.wOff + o * depth;
      if (dot === DOT_S8) acc += dot_s8(w, wb, x, xb, depth);
      else if (dot === DOT_CONVOLVE && o < wViews && b < xViews) acc += E.convolve(p.wRows[o], p.xRows[b], 0);
      else {
        // Unrolled by 4: fewer loop tests and index additions per MAC in every engine.
        for (let k = 0; k < depth4; k += 4) {
          const xk = xb + k, wk = wb + k;
          acc += x[xk] * w[wk] + x[xk + 1] * w[wk + 1] + x[xk + 2] * w[wk + 2] + x[xk + 3] * w[wk + 3];
        }
        for (let k = depth4; k < depth; k++) acc += x[xb + k] * w[wb + k];
      }
      y[yb + o] = requantize(acc, p, perChannel ? o : 0);
    }
  }
}
