// CONCATENATION along one axis: every input shares the output's quantization, so bytes are copied. For each
// index of the dimensions before the axis ("outer"), each input contributes one run of (its size along the
// axis)·(the size of the dimensions after it) bytes.

function prepareConcatenation(b: Blob, p: PreparedOp, opt: number, oi: number, oin: number[], infos: TensorInfo[], i8: Int8Array[],
  tensorIndex: (v: number) => number, yi: number): void {
  var ys = infos[yi].shape, rank = ys.length;
  var axis = fieldI32(b, opt, ConcatenationOptions_axis, 0);
  if (!(axis >= 0 && axis < rank)) fail('OPTIONS', 'op ' + oi + ' concatenation axis ' + axis + ' outside 0..' + (rank - 1));
  var inner = 1, outer = 1;
  for (var d = 0; d < rank; d++) {
    if (d < axis) outer *= ys[d];
    if (d > axis) inner *= ys[d];
  }
  p.xs = [];
  p.runs = [];
  var total = 0, ok = true;
  for (var k = 0; k < oin.length; k++) {
    var ti = tensorIndex(oin[k]), t = infos[ti];
    ok = ok && t.type === TensorType_INT8 && t.shape.length === rank;
    for (var e = 0; e < rank; e++) ok = ok && (e === axis || t.shape[e] === ys[e]);
    p.xs.push(i8[ti]);
    p.runs.push(t.shape[axis] * inner);
    total += t.shape[axis];
  }
  if (!ok || total !== ys[axis]) fail('SHAPE', 'op ' + oi + ' inputs do not concatenate to the int8 output along axis ' + axis);
  p.batches = outer;
}

function concatenation(p: PreparedOp): void {
  var xs = p.xs, runs = p.runs, y = p.y, inputs = xs.length, at = 0;
  for (var o = 0; o < p.batches; o++) {
    for (var k = 0; k < inputs; k++) {
      var x = xs[k], run = runs[k], from = o * run;
      for (var i = 0; i < run; i++) y[at + i] = x[from + i];
      at += run;
    }
  }
}
