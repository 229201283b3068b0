// Element-wise table lookup (LOGISTIC, TANH, QUANTIZE, LEAKY_RELU); safe in place.
function lookup(p: PreparedOp): void {
  const x = p.x,
    y = p.y,
    t = p.table,
    n = p.count,
    xo = p.xOff,
    yo = p.yOff;
  for (let i = 0; i < n; i++) y[yo + i] = t[x[xo + i] + 128];
}

// RESHAPE: bytes unchanged; the planner usually aliases input and output so this copies nothing.
function reshape(p: PreparedOp): void {
  const x = p.x,
    y = p.y,
    n = p.count,
    xo = p.xOff,
    yo = p.yOff;
  if (xo === yo) return;
  for (let i = 0; i < n; i++) y[yo + i] = x[xo + i];
}
