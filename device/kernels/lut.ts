// Element-wise table lookup (LOGISTIC, TANH, QUANTIZE, LEAKY_RELU); safe in place.
function lookup(p: PreparedOp): void {
  var x = p.x, y = p.y, t = p.table, n = p.count;
  for (var i = 0; i < n; i++) y[i] = t[x[i] + 128];
}

// RESHAPE: bytes unchanged; the planner usually aliases input and output so this copies nothing.
function reshape(p: PreparedOp): void {
  var x = p.x, y = p.y, n = p.count;
  if (x.byteOffset === y.byteOffset) return;
  for (var i = 0; i < n; i++) y[i] = x[i];
}
